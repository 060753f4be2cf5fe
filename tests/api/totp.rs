//! Authenticator apps and recovery codes (API.md §8.4), against codes an
//! independent RFC 6238 implementation computes (helpers::authenticator).

use serde_json::{Value, json};

use crate::helpers::authenticator::{App, BEGIN, CONFIRM, enrol, with_time_left};
use crate::helpers::two_factor::app_mails;
use crate::helpers::{
    PASSWORD, TestApp, TestUser, code, mail, spawn_app, spawn_app_with, spawn_process,
};

const ME: &str = "{ me { twoFactorEnabled twoFactorMethods recoveryCodesLeft } }";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { __typename ... on AuthPayload { accessToken } ... on OtpChallenge { challengeId sentTo method } } }";
const VERIFY: &str =
    "mutation($id: ID!, $c: String!) { verifyOtp(challengeId: $id, code: $c) { accessToken } }";
const EVENTS: &str = "{ securityEvents(first: 50) { edges { node { type } } } }";

async fn me(app: &TestApp, auth: &str) -> Value {
    app.gql_as(Some(auth), ME, json!({})).await.1["data"]["me"].clone()
}

/// Signs in with the password; answers the challenge (asserting it is one).
async fn challenge(app: &TestApp, base: &str, email: &str) -> Value {
    let body = app
        .concurrently(vec![(
            base.to_owned(),
            json!({ "query": LOGIN, "variables": { "input": { "email": email, "password": PASSWORD } } }),
        )])
        .await
        .remove(0);
    let login = body["data"]["login"].clone();
    assert_eq!(login["__typename"], "OtpChallenge", "{body}");
    login
}

async fn verify(app: &TestApp, base: &str, challenge: &Value, code: &str) -> Value {
    app.concurrently(vec![(
        base.to_owned(),
        json!({ "query": VERIFY, "variables": { "id": challenge["challengeId"], "c": code } }),
    )])
    .await
    .remove(0)
}

fn bearer(body: &Value) -> String {
    let token = body["data"]["verifyOtp"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("not signed in: {body}"));
    format!("Bearer {token}")
}

#[tokio::test]
async fn an_app_is_on_only_once_confirmed_and_its_codes_follow_rfc_6238() {
    let app = spawn_app().await;
    let email = "app.user@example.com";
    let user = app.signed_in_user(email).await;
    let (_, body) = app.gql_as(Some(&user.bearer()), BEGIN, json!({})).await;
    let enrolment = &body["data"]["beginTotpEnrollment"];
    let secret = enrolment["secret"].as_str().unwrap();
    let uri = enrolment["otpauthUri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/authql:app.user%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=authql"));
    assert!(enrolment["qrCodeSvg"].as_str().unwrap().contains("<svg"));
    let authenticator = App::from_base32(secret);

    // Begun is not on: the next sign-in asks for nothing more.
    assert_eq!(
        me(&app, &user.bearer()).await,
        json!({ "twoFactorEnabled": false, "twoFactorMethods": [], "recoveryCodesLeft": 0 })
    );
    assert_eq!(
        app.login(email, PASSWORD).await["data"]["login"]["__typename"],
        "AuthPayload"
    );

    // A code two steps off is wrong, and counts on the account's counter.
    with_time_left(5).await;
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            CONFIRM,
            json!({ "c": authenticator.code(2) }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_OTP", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["attemptsLeft"], 9);
    // One step behind is within the skew.
    with_time_left(5).await;
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            CONFIRM,
            json!({ "c": authenticator.code(-1) }),
        )
        .await;
    let codes = body["data"]["confirmTotpEnrollment"]["codes"]
        .as_array()
        .unwrap();
    assert_eq!(codes.len(), 10, "{body}");
    for c in codes {
        let c = c.as_str().unwrap();
        assert!(
            c.len() == 14
                && c.split('-').all(|part| part.len() == 4
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))),
            "{c}"
        );
    }
    assert_eq!(
        me(&app, &user.bearer()).await,
        json!({ "twoFactorEnabled": true, "twoFactorMethods": ["TOTP"], "recoveryCodesLeft": 10 })
    );
    let notices = mail::wait_for(&app.mail_dir, email, 2).await;
    assert!(
        notices
            .last()
            .unwrap()
            .subject
            .contains("authenticator app")
    );
    let mails_before = app_mails(&app, email).len();

    // Sign-in now asks for the app's code, and mails nothing.
    let login = challenge(&app, &app.base, email).await;
    assert_eq!(
        (login["method"].as_str(), login["sentTo"].as_str()),
        (Some("TOTP"), Some(""))
    );
    let (_, body) = app
        .gql(
            "mutation($id: ID!) { resendOtp(challengeId: $id) { challengeId } }",
            json!({ "id": login["challengeId"] }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    with_time_left(5).await;
    for off in [-2, 2] {
        let body = verify(&app, &app.base, &login, &authenticator.code(off)).await;
        assert_eq!(code(&body), "INVALID_OTP", "{off}: {body}");
    }
    let now_code = authenticator.code(0);
    bearer(&verify(&app, &app.base, &login, &now_code).await);

    // The same time step's code is used up; the next step's still works.
    let login = challenge(&app, &app.base, email).await;
    let body = verify(&app, &app.base, &login, &now_code).await;
    assert_eq!(code(&body), "INVALID_OTP", "a replayed code: {body}");
    bearer(&verify(&app, &app.base, &login, &authenticator.code(1)).await);

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app_mails(&app, email).len(), mails_before, "nothing mailed");
}

/// An attacker with the password guesses app codes over fresh challenges
/// and two instances: the account's own counter stops them, right code
/// included, until the window passes.
#[tokio::test]
async fn wrong_app_codes_count_on_the_account_across_challenges_and_instances() {
    let app = spawn_app_with(&[("OTP_MAX_ATTEMPTS", "2")]).await;
    let other = spawn_process(&app.db.url, &app.mail_dir, &[("OTP_MAX_ATTEMPTS", "2")]).await;
    let email = "guessed@example.com";
    let user = app.signed_in_user(email).await;
    let (authenticator, _) = enrol(&app, &user, 0).await;
    let mut left = Vec::new();
    for base in [&app.base, &other.base] {
        let login = challenge(&app, base, email).await;
        for _ in 0..2 {
            with_time_left(3).await;
            let wrong = (authenticator.code(0).parse::<u32>().unwrap() + 1) % 1_000_000;
            let body = verify(&app, base, &login, &format!("{wrong:06}")).await;
            assert_eq!(code(&body), "INVALID_OTP", "{body}");
            left.push(
                body["errors"][0]["extensions"]["attemptsLeft"]
                    .as_u64()
                    .unwrap(),
            );
        }
    }
    assert_eq!(left, [1, 0, 1, 0]);
    let login = challenge(&app, &other.base, email).await;
    with_time_left(3).await;
    let body = verify(&app, &other.base, &login, &authenticator.code(1)).await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
}

/// One stolen recovery code, tried twenty times at once over three
/// challenges (in any case, with or without hyphens): one sign-in.
#[tokio::test]
async fn a_recovery_code_signs_in_once_under_twenty_parallel_tries() {
    let app = spawn_app_with(&[("OTP_MAX_ATTEMPTS", "30"), ("LOGIN_RATE_LIMIT", "100/15m")]).await;
    let email = "recover@example.com";
    let user = app.signed_in_user(email).await;
    let (_, codes) = enrol(&app, &user, 0).await;
    let mut challenges = Vec::new();
    for _ in 0..3 {
        challenges.push(challenge(&app, &app.base, email).await);
    }
    let variants = [
        codes[0].clone(),
        codes[0].to_uppercase(),
        codes[0].replace('-', ""),
    ];
    let requests = (0..20)
        .map(|i| {
            let body = json!({ "query": VERIFY, "variables": {
                "id": challenges[i % 3]["challengeId"], "c": variants[i % 3] } });
            (app.base.clone(), body)
        })
        .collect();
    let answers = app.concurrently(requests).await;
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|a| a["data"]["verifyOtp"]["accessToken"].is_string())
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for a in answers.iter().filter(|a| a["errors"].is_array()) {
        assert!(["INVALID_OTP", "INVALID_TOKEN"].contains(&code(a)), "{a}");
    }
    let auth = bearer(winners[0]);
    assert_eq!(me(&app, &auth).await["recoveryCodesLeft"], 9);
    let (_, events) = app.gql_as(Some(&auth), EVENTS, json!({})).await;
    assert!(
        events.to_string().contains("RECOVERY_CODE_USED"),
        "{events}"
    );
    let notices = mail::wait_for(&app.mail_dir, email, 3).await;
    assert!(
        notices.iter().any(|m| m.subject.contains("recovery code")),
        "{notices:?}"
    );

    // Used is used; another of the set still works.
    let login = challenge(&app, &app.base, email).await;
    let body = verify(&app, &app.base, &login, &codes[0]).await;
    assert_eq!(code(&body), "INVALID_OTP", "{body}");
    bearer(&verify(&app, &app.base, &login, &codes[1]).await);
}

/// A stolen database (file or dump) must not yield the app's secret, in
/// any encoding, whether enrolment was confirmed or only begun.
#[tokio::test]
async fn the_secret_is_nowhere_in_the_database() {
    let app = spawn_app().await;
    let user = app.signed_in_user("sealed@example.com").await;
    let (confirmed, _) = enrol(&app, &user, 0).await;
    let (_, body) = app.gql_as(Some(&user.bearer()), BEGIN, json!({})).await;
    let pending = App::from_base32(
        body["data"]["beginTotpEnrollment"]["secret"]
            .as_str()
            .unwrap(),
    );
    let stored = app.stored_bytes().await;
    for secret in [&confirmed.secret, &pending.secret] {
        for form in App::stored_forms(secret) {
            assert!(
                !stored.windows(form.len()).any(|w| w == form.as_slice()),
                "the secret is stored as {:?}",
                String::from_utf8_lossy(&form)
            );
        }
    }
}

async fn two_factor_off(app: &TestApp, user: &TestUser, mutation: &str) -> Value {
    let (_, body) = app
        .gql_as(Some(&user.bearer()), mutation, json!({ "p": PASSWORD }))
        .await;
    body
}

/// `disableTotp` keeps the emailed code as it was, and the recovery codes
/// only while it is on; `disableTwoFactor` turns everything off; with no
/// second factor, new recovery codes are `FORBIDDEN`.
#[tokio::test]
async fn turning_factors_off_keeps_what_the_contract_says() {
    let app = spawn_app().await;
    const DISABLE_TOTP: &str = "mutation { disableTotp { twoFactorEnabled twoFactorMethods } }";
    const REGENERATE: &str = "mutation { regenerateRecoveryCodes { codes } }";

    // Both on; the app goes: the mailed code and the recovery codes stay.
    let both = app.signed_in_user("both@example.com").await;
    two_factor_off(
        &app,
        &both,
        "mutation($p: String!) { enableTwoFactor(password: $p) { id } }",
    )
    .await;
    let (_, codes) = enrol(&app, &both, 0).await;
    assert_eq!(
        me(&app, &both.bearer()).await["twoFactorMethods"],
        json!(["EMAIL", "TOTP"])
    );
    let (_, body) = app
        .gql_as(Some(&both.bearer()), DISABLE_TOTP, json!({}))
        .await;
    assert_eq!(
        body["data"]["disableTotp"],
        json!({ "twoFactorEnabled": true, "twoFactorMethods": ["EMAIL"] })
    );
    assert_eq!(me(&app, &both.bearer()).await["recoveryCodesLeft"], 10);
    let login = challenge(&app, &app.base, "both@example.com").await;
    assert_eq!(login["method"], "EMAIL");
    // A recovery code stands in for the mailed code too.
    bearer(&verify(&app, &app.base, &login, &codes[3]).await);

    // Only the app; it goes: nothing is left, codes included.
    let only = app.signed_in_user("only@example.com").await;
    enrol(&app, &only, 0).await;
    let (_, body) = app
        .gql_as(Some(&only.bearer()), REGENERATE, json!({}))
        .await;
    let fresh_codes = body["data"]["regenerateRecoveryCodes"]["codes"]
        .as_array()
        .unwrap();
    assert_eq!(fresh_codes.len(), 10);
    let (_, body) = app
        .gql_as(Some(&only.bearer()), DISABLE_TOTP, json!({}))
        .await;
    assert_eq!(
        body["data"]["disableTotp"],
        json!({ "twoFactorEnabled": false, "twoFactorMethods": [] })
    );
    assert_eq!(me(&app, &only.bearer()).await["recoveryCodesLeft"], 0);
    let (_, body) = app
        .gql_as(Some(&only.bearer()), REGENERATE, json!({}))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert_eq!(
        app.login("only@example.com", PASSWORD).await["data"]["login"]["__typename"],
        "AuthPayload"
    );

    // disableTwoFactor ends the app and the codes as well.
    let all = app.signed_in_user("all@example.com").await;
    enrol(&app, &all, 0).await;
    let body = two_factor_off(
        &app,
        &all,
        "mutation($p: String!) { disableTwoFactor(password: $p) { twoFactorEnabled twoFactorMethods recoveryCodesLeft } }",
    )
    .await;
    assert_eq!(
        body["data"]["disableTwoFactor"],
        json!({ "twoFactorEnabled": false, "twoFactorMethods": [], "recoveryCodesLeft": 0 })
    );
    let (_, events) = app.gql_as(Some(&all.bearer()), EVENTS, json!({})).await;
    for kind in [
        "TOTP_ENABLED",
        "RECOVERY_CODES_GENERATED",
        "TOTP_DISABLED",
        "TWO_FACTOR_DISABLED",
    ] {
        assert!(events.to_string().contains(kind), "{kind}: {events}");
    }
}

/// A stolen, stale access token cannot add the thief's app; the owner's
/// re-authentication with the app on asks for the app's code.
#[tokio::test]
async fn app_changes_need_a_fresh_session_and_reauthenticate_asks_the_app() {
    let app = spawn_app_with(&[("PRIVILEGED_SESSION_TTL", "2s")]).await;
    let email = "fresh.app@example.com";
    let user = app.signed_in_user(email).await;
    let (authenticator, _) = enrol(&app, &user, 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(2300)).await;
    for mutation in [
        BEGIN,
        "mutation { disableTotp { id } }",
        "mutation { regenerateRecoveryCodes { codes } }",
    ] {
        let (_, body) = app.gql_as(Some(&user.bearer()), mutation, json!({})).await;
        assert_eq!(
            code(&body),
            "REAUTHENTICATION_REQUIRED",
            "{mutation}: {body}"
        );
    }
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "mutation($p: String!) { reauthenticate(password: $p) { __typename ... on OtpChallenge { challengeId method sentTo } } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    let challenge = &body["data"]["reauthenticate"];
    assert_eq!(
        (challenge["method"].as_str(), challenge["sentTo"].as_str()),
        (Some("TOTP"), Some("")),
        "{body}"
    );
    with_time_left(3).await;
    let body = verify(&app, &app.base, challenge, &authenticator.code(1)).await;
    let auth = bearer(&body);
    let (_, body) = app
        .gql_as(
            Some(&auth),
            "mutation { regenerateRecoveryCodes { codes } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["regenerateRecoveryCodes"]["codes"]
            .as_array()
            .map(Vec::len),
        Some(10),
        "{body}"
    );
}
