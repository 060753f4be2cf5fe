//! Assurance levels and the one credential lifecycle (API.md §8.8), each
//! test written as what the attacker of the round-3 review did: a leaked
//! API token or a stale session plus the password, a silently added
//! passkey, a flood of sign-in codes, a thief's pending address change.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::passkey::{Authenticator, SETTINGS};
use crate::helpers::two_factor::{challenge, with_two_factor};
use crate::helpers::{PASSWORD, TestApp, TestUser, code, mail, spawn_app_with};

const VERIFY: &str = "mutation($id: ID!, $c: String!) { verifyOtp(challengeId: $id, code: $c) { accessToken refreshToken } }";
const REAUTH: &str = "mutation($p: String!) { reauthenticate(password: $p) { __typename ... on OtpChallenge { challengeId } } }";
const CHANGE: &str = "mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n, confirmPassword: $n) { accessToken } }";
const SESSIONS: &str = "{ sessions { id current authenticatedAt aal amr } }";

/// The claims of an access token (its middle part), unverified.
fn claims(access_token: &str) -> Value {
    let part = access_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn bearer_of(body: &Value, field: &str) -> String {
    format!(
        "Bearer {}",
        body["data"][field]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no tokens: {body}"))
    )
}

async fn current_session(app: &TestApp, auth: &str) -> Value {
    let (_, body) = app.gql_as(Some(auth), SESSIONS, json!({})).await;
    body["data"]["sessions"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()
        .clone()
}

/// The review's first finding: a leaked API token plus the password bought
/// a fresh session, a new API token, a replaced authenticator app, the
/// second factor turned off and the account deleted. Every step is refused.
#[tokio::test]
async fn an_api_token_plus_the_password_touches_no_credential() {
    let app = spawn_app_with(&SETTINGS).await;
    let user = app.signed_in_user("leaked@example.com").await;
    let token = app.api_token(&user.bearer()).await;
    let session = app.session_id(&user.bearer(), true).await;
    let p = json!({ "p": PASSWORD });
    let attempts: Vec<(&str, Value)> = vec![
        (
            CHANGE,
            json!({ "o": PASSWORD, "n": "another sturdy passphrase 7" }),
        ),
        (
            "mutation($p: String!) { enableTwoFactor(password: $p) { id } }",
            p.clone(),
        ),
        (
            "mutation($p: String!) { disableTwoFactor(password: $p) { id } }",
            p.clone(),
        ),
        (
            "mutation($p: String!) { deleteAccount(password: $p) }",
            p.clone(),
        ),
        (REAUTH, p.clone()),
        (
            "mutation { createApiToken(name: \"more\") { token } }",
            json!({}),
        ),
        (
            "mutation($id: ID!) { revokeSession(id: $id) }",
            json!({ "id": session }),
        ),
        ("mutation { beginTotpEnrollment { secret } }", json!({})),
        (
            "mutation { confirmTotpEnrollment(code: \"123456\") { codes } }",
            json!({}),
        ),
        ("mutation { disableTotp { id } }", json!({})),
        ("mutation { regenerateRecoveryCodes { codes } }", json!({})),
        (
            "mutation { beginPasskeyRegistration { challengeId } }",
            json!({}),
        ),
        (
            "mutation { requestEmailChange(newEmail: \"thief@example.com\") }",
            json!({}),
        ),
    ];
    for (query, variables) in attempts {
        let (_, body) = app.gql_as(Some(&token), query, variables).await;
        assert_eq!(code(&body), "FORBIDDEN", "{query}: {body}");
    }
    // Nothing changed: the password, the session, the account.
    assert!(
        app.login("leaked@example.com", PASSWORD).await["data"]["login"]["accessToken"].is_string()
    );
    let (_, me) = app
        .gql_as(
            Some(&user.bearer()),
            "{ me { email twoFactorEnabled } }",
            json!({}),
        )
        .await;
    assert_eq!(me["data"]["me"]["email"], "leaked@example.com", "{me}");
    assert_eq!(me["data"]["me"]["twoFactorEnabled"], false);
    // What an API token may still do: end itself.
    let (_, body) = app
        .gql_as(Some(&token), "mutation { logout }", json!({}))
        .await;
    assert_eq!(body["data"]["logout"], true, "{body}");
}

/// A stale access token plus the password used to come back from
/// `changePassword` as a session fresh enough to mint API tokens.
#[tokio::test]
async fn change_password_returns_a_session_no_fresher_than_its_caller() {
    let app = spawn_app_with(&[("PRIVILEGED_SESSION_TTL", "1s")]).await;
    let user = app.signed_in_user("stale@example.com").await;
    let before = current_session(&app, &user.bearer()).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            CHANGE,
            json!({ "o": PASSWORD, "n": "another sturdy passphrase 7" }),
        )
        .await;
    let changed = bearer_of(&body, "changePassword");
    let after = current_session(&app, &changed).await;
    assert_eq!(
        after["authenticatedAt"], before["authenticatedAt"],
        "{after}"
    );
    assert_eq!(after["aal"], "aal1");
    assert_eq!(after["amr"], json!(["pwd"]));
    let (_, body) = app
        .gql_as(
            Some(&changed),
            "mutation { createApiToken(name: \"x\") { token } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "REAUTHENTICATION_REQUIRED", "{body}");
}

/// With a second factor on, a session that only ever proved the password
/// (opened before the factor was turned on) is not fresh enough, whatever
/// its age; the code brings it to aal2. The session that turned the first
/// factor on becomes aal2 itself.
#[tokio::test]
async fn fresh_mutations_need_aal2_once_a_second_factor_is_on() {
    let app = spawn_app_with(&SETTINGS).await;
    let first = app.signed_in_user("levels@example.com").await;
    let body = app.login("levels@example.com", PASSWORD).await;
    let second = format!(
        "Bearer {}",
        body["data"]["login"]["accessToken"].as_str().unwrap()
    );
    let (_, body) = app
        .gql_as(
            Some(&first.bearer()),
            "mutation($p: String!) { enableTwoFactor(password: $p) { id } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let raised = current_session(&app, &first.bearer()).await;
    assert_eq!(raised["aal"], "aal2", "{raised}");
    assert_eq!(raised["amr"], json!(["pwd", "otp", "mfa"]));
    let mint = "mutation { createApiToken(name: \"x\") { token } }";
    let (_, body) = app.gql_as(Some(&second), mint, json!({})).await;
    assert_eq!(code(&body), "REAUTHENTICATION_REQUIRED", "{body}");
    for query in [
        "mutation { beginTotpEnrollment { secret } }",
        "mutation { beginPasskeyRegistration { challengeId } }",
        "mutation { disableTotp { id } }",
    ] {
        let (_, body) = app.gql_as(Some(&second), query, json!({})).await;
        assert_eq!(code(&body), "REAUTHENTICATION_REQUIRED", "{query}: {body}");
    }
    let (_, body) = app
        .gql_as(
            Some(&second),
            "mutation($p: String!) { disableTwoFactor(password: $p) { id } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(code(&body), "REAUTHENTICATION_REQUIRED", "{body}");
    let (_, body) = app
        .gql_as(
            Some(&second),
            "mutation($p: String!) { deleteAccount(password: $p) }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(code(&body), "REAUTHENTICATION_REQUIRED", "{body}");

    let before = app.mails_to_count("levels@example.com");
    let (_, body) = app
        .gql_as(Some(&second), REAUTH, json!({ "p": PASSWORD }))
        .await;
    let id = body["data"]["reauthenticate"]["challengeId"].clone();
    let mails = mail::wait_for(&app.mail_dir, "levels@example.com", before + 1).await;
    let (_, body) = app
        .gql(
            VERIFY,
            json!({ "id": id, "c": mails.last().unwrap().code() }),
        )
        .await;
    let renewed = bearer_of(&body, "verifyOtp");
    let token = claims(renewed.trim_start_matches("Bearer "));
    assert_eq!(token["aal"], "aal2", "{token}");
    assert_eq!(token["amr"], json!(["pwd", "otp", "mfa"]));
    let (_, body) = app.gql_as(Some(&renewed), mint, json!({})).await;
    assert!(
        body["data"]["createApiToken"]["token"].is_string(),
        "{body}"
    );
}

/// `aal` and `amr` as each sign-in proves them, in the access token and on
/// the session: password, password + mailed code, password + app code,
/// password + recovery code, and a passkey.
#[tokio::test]
async fn each_sign_in_carries_the_level_it_proved() {
    let app = spawn_app_with(&SETTINGS).await;
    let user = app.signed_in_user("amr@example.com").await;
    let token = claims(&user.access_token);
    assert_eq!(
        (token["aal"].clone(), token["amr"].clone()),
        (json!("aal1"), json!(["pwd"]))
    );

    let mut key = Authenticator::default();
    let body = register_passkey(&app, &user, &mut key).await;
    assert!(body["errors"].is_null(), "{body}");
    crate::helpers::authenticator::with_time_left(5).await;
    let (totp, recovery) = crate::helpers::authenticator::enrol(&app, &user, 0).await;
    let body = app.login("amr@example.com", PASSWORD).await;
    let id = body["data"]["login"]["challengeId"].clone();
    // The step after the one the enrolment spent.
    let (_, body) = app
        .gql(VERIFY, json!({ "id": id, "c": totp.code(1) }))
        .await;
    let token = claims(bearer_of(&body, "verifyOtp").trim_start_matches("Bearer "));
    assert_eq!(
        (token["aal"].clone(), token["amr"].clone()),
        (json!("aal2"), json!(["pwd", "otp", "mfa"]))
    );

    let body = app.login("amr@example.com", PASSWORD).await;
    let id = body["data"]["login"]["challengeId"].clone();
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": recovery[0] })).await;
    let token = claims(bearer_of(&body, "verifyOtp").trim_start_matches("Bearer "));
    assert_eq!(
        (token["aal"].clone(), token["amr"].clone()),
        (json!("aal2"), json!(["pwd", "rec", "mfa"]))
    );
    // A refresh carries the session's level on.
    let (_, body) = app
        .gql(
            "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }",
            json!({ "r": body["data"]["verifyOtp"]["refreshToken"] }),
        )
        .await;
    let token = claims(bearer_of(&body, "refreshToken").trim_start_matches("Bearer "));
    assert_eq!(token["amr"], json!(["pwd", "rec", "mfa"]), "{token}");

    let body = passkey_sign_in(&app, &mut key).await;
    let token = claims(bearer_of(&body, "finishPasskeyLogin").trim_start_matches("Bearer "));
    assert_eq!(
        (token["aal"].clone(), token["amr"].clone()),
        (json!("aal2"), json!(["hwk"]))
    );

    // The mailed code: another account, emailed two-factor.
    with_two_factor(&app, "mailed@example.com").await;
    let (id, right) = challenge(&app, "mailed@example.com").await;
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    let bearer = bearer_of(&body, "verifyOtp");
    let token = claims(bearer.trim_start_matches("Bearer "));
    assert_eq!(
        (token["aal"].clone(), token["amr"].clone()),
        (json!("aal2"), json!(["pwd", "otp", "mfa"]))
    );
    let session = current_session(&app, &bearer).await;
    assert_eq!(
        (session["aal"].clone(), session["amr"].clone()),
        (json!("aal2"), json!(["pwd", "otp", "mfa"]))
    );
}

pub async fn register_passkey(app: &TestApp, user: &TestUser, key: &mut Authenticator) -> Value {
    let (_, begun) = app
        .gql_as(
            Some(&user.bearer()),
            "mutation { beginPasskeyRegistration { challengeId options } }",
            json!({}),
        )
        .await;
    let begun = &begun["data"]["beginPasskeyRegistration"];
    let credential = key.register(&begun["options"]);
    app.gql_as(
        Some(&user.bearer()),
        "mutation($c: ID!, $cred: JSON!) { finishPasskeyRegistration(challengeId: $c, credential: $cred, name: \"Thief's key\") { id } }",
        json!({ "c": begun["challengeId"], "cred": credential }),
    )
    .await
    .1
}

pub async fn passkey_sign_in(app: &TestApp, key: &mut Authenticator) -> Value {
    let (_, body) = app
        .gql(
            "mutation { beginPasskeyLogin { challengeId options } }",
            json!({}),
        )
        .await;
    let begun = &body["data"]["beginPasskeyLogin"];
    let credential = key.assert(&begun["options"]);
    app.gql(
        "mutation($c: ID!, $cred: JSON!) { finishPasskeyLogin(challengeId: $c, credential: $cred) { accessToken } }",
        json!({ "c": begun["challengeId"], "cred": credential }),
    )
    .await
    .1
}
