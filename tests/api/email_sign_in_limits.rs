//! Email sign-in's limits (API.md §9.2): wrong codes counted on the record
//! however they arrive and on the account's code budget; answers and mail
//! that tell no address apart, in both sign-up modes; the switch and the
//! input checks.

use serde_json::json;

use crate::email_sign_in::{REQUEST, SIGN_IN, TARGET, request, spawn};
use crate::helpers::two_factor::{app_mails, wrong};
use crate::helpers::{PASSWORD, code, mail};

#[tokio::test]
async fn parallel_wrong_codes_are_judged_at_most_otp_max_attempts_times() {
    let app = spawn(&[("LOGIN_RATE_LIMIT", "1000/15m")]).await;
    for (wrong_tries, signs_in) in [(4, true), (5, false)] {
        let email = format!("guess{wrong_tries}@example.com");
        let mail = request(&app, &email, json!({})).await;
        let guess = wrong(&mail.code());
        let requests = (0..wrong_tries)
            .map(|_| {
                let body = json!({ "query": SIGN_IN, "variables": { "e": email, "c": guess } });
                (app.base.clone(), body)
            })
            .collect();
        for body in app.concurrently(requests).await {
            assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
        }
        let (_, body) = app
            .gql(SIGN_IN, json!({ "e": email, "c": mail.code() }))
            .await;
        match signs_in {
            true => assert_eq!(
                body["data"]["signInWithEmailCode"]["__typename"], "AuthPayload",
                "{body}"
            ),
            false => assert_eq!(code(&body), "INVALID_TOKEN", "{body}"),
        }
    }
}

#[tokio::test]
async fn wrong_codes_spend_the_accounts_code_budget_until_every_code_is_rate_limited() {
    let app = spawn(&[("LOGIN_RATE_LIMIT", "1000/15m")]).await;
    for email in ["known@example.com", "unknown@example.com"] {
        if email.starts_with("known") {
            app.activated_user(email).await;
        }
        // Two records' worth of wrong codes: 2 × OTP_MAX_ATTEMPTS.
        for _ in 0..2 {
            let mail = request(&app, email, json!({})).await;
            for _ in 0..5 {
                let (_, body) = app
                    .gql(SIGN_IN, json!({ "e": email, "c": wrong(&mail.code()) }))
                    .await;
                assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
            }
        }
        let mail = request(&app, email, json!({})).await;
        let (_, body) = app
            .gql(SIGN_IN, json!({ "e": email, "c": mail.code() }))
            .await;
        assert_eq!(code(&body), "RATE_LIMITED", "{email}: {body}");
    }
}

#[tokio::test]
async fn every_address_gets_the_same_answer_and_only_those_who_may_sign_in_get_mail() {
    for signup in ["true", "false"] {
        let app = spawn(&[("EMAIL_SIGN_IN_SIGNUP", signup)]).await;
        let staff = app.staff_user("staff@example.com").await;
        app.activated_user("active@example.com").await;
        app.register("pending@example.com", PASSWORD).await;
        let gone = app.activated_user("gone@example.com").await;
        let (_, body) = app
            .gql_as(
                Some(&staff.bearer()),
                "mutation($id: ID!) { setUserActive(id: $id, active: false) { isActive } }",
                json!({ "id": gone }),
            )
            .await;
        assert_eq!(body["data"]["setUserActive"]["isActive"], false, "{body}");
        let addresses = [
            "active@example.com",
            "pending@example.com",
            "gone@example.com",
            "nobody@example.com",
        ];
        let mut before = Vec::new();
        for email in addresses {
            before.push(mail::settled(&app.mail_dir, email).await.len());
        }
        let mut answers = Vec::new();
        for email in addresses {
            let (status, body) = app.gql(REQUEST, json!({ "e": email })).await;
            answers.push((status, body.to_string()));
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
        let mailed = [true, true, false, signup == "true"];
        for ((email, was), expected) in addresses.iter().zip(before).zip(mailed) {
            let now = mail::settled(&app.mail_dir, email).await.len();
            assert_eq!(
                now > was,
                expected,
                "{email} with EMAIL_SIGN_IN_SIGNUP={signup}"
            );
        }
    }
}

#[tokio::test]
async fn the_switch_and_malformed_input_are_refused() {
    let app = spawn(&[("EMAIL_SIGN_IN", "false")]).await;
    let (_, body) = app.gql(REQUEST, json!({ "e": "off@example.com" })).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app
        .gql(SIGN_IN, json!({ "e": "off@example.com", "c": "123456" }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert!(app_mails(&app, "off@example.com").is_empty());

    let app = spawn(&[]).await;
    for (vars, field) in [
        (json!({ "e": "not an address" }), "email"),
        (
            json!({ "e": "a@example.com", "r": "https://evil.example.com/signed-in" }),
            "redirectTo",
        ),
        (
            json!({ "e": "a@example.com", "r": format!("{TARGET}#x") }),
            "redirectTo",
        ),
        (
            json!({ "e": "a@example.com", "c": "short" }),
            "codeChallenge",
        ),
    ] {
        let (_, body) = app.gql(REQUEST, vars).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(
            body["errors"][0]["extensions"]["fields"][field].is_array(),
            "{body}"
        );
    }
    // Four sign-in writes in one request: refused before any runs.
    let four = format!(
        "mutation {{ {} }}",
        (0..4)
            .map(|i| format!("a{i}: requestEmailSignIn(email: \"four@example.com\")"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (_, body) = app.gql(&four, json!({})).await;
    assert_eq!(code(&body), "BAD_REQUEST", "{body}");
    assert!(app_mails(&app, "four@example.com").is_empty());
}

#[tokio::test]
async fn requests_and_wrong_codes_are_in_the_accounts_audit_log_with_their_amr() {
    let app = spawn(&[]).await;
    let user = app.signed_in_user("log@example.com").await;
    let mail = request(&app, "log@example.com", json!({})).await;
    app.gql(
        SIGN_IN,
        json!({ "e": "log@example.com", "c": wrong(&mail.code()) }),
    )
    .await;
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "{ securityEvents(first: 10) { edges { node { type amr } } } }",
            json!({}),
        )
        .await;
    let events: Vec<_> = body["data"]["securityEvents"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| (e["node"]["type"].clone(), e["node"]["amr"].clone()))
        .collect();
    assert_eq!(
        events[0],
        (json!("LOGIN_FAILED"), json!(["email"])),
        "{events:?}"
    );
    assert_eq!(events[1].0, json!("EMAIL_SIGN_IN_REQUESTED"), "{events:?}");
    assert!(
        events.contains(&(json!("LOGIN_SUCCEEDED"), json!(["pwd"]))),
        "{events:?}"
    );
}

#[tokio::test]
async fn over_the_mail_budget_nothing_is_sent_or_replaced() {
    let app = spawn(&[("MAIL_RATE_LIMIT", "1/1h")]).await;
    let first = request(&app, "budget@example.com", json!({})).await;
    let (_, body) = app.gql(REQUEST, json!({ "e": "budget@example.com" })).await;
    assert_eq!(body["data"]["requestEmailSignIn"], true);
    assert_eq!(
        mail::settled(&app.mail_dir, "budget@example.com")
            .await
            .len(),
        1
    );
    let (_, body) = app
        .gql(
            SIGN_IN,
            json!({ "e": "budget@example.com", "c": first.code() }),
        )
        .await;
    assert_eq!(
        body["data"]["signInWithEmailCode"]["__typename"], "AuthPayload",
        "{body}"
    );
}

/// The review's finding: with `REQUIRE_ACTIVATION=false` anyone can
/// register an address and be active at once. When its owner later signs
/// in by email, the squatter's password, sessions and API tokens must not
/// survive inside the account the owner now uses.
#[tokio::test]
async fn whoever_registered_an_unproved_address_keeps_no_way_in() {
    let app = spawn(&[("REQUIRE_ACTIVATION", "false")]).await;
    app.register("owner@example.com", PASSWORD).await;
    let body = app.login("owner@example.com", PASSWORD).await;
    let squatter = format!(
        "Bearer {}",
        body["data"]["login"]["accessToken"].as_str().unwrap()
    );
    let refresh = body["data"]["login"]["refreshToken"].clone();
    let api = app.api_token(&squatter).await;
    mail::settled(&app.mail_dir, "owner@example.com").await;

    let mail = request(&app, "owner@example.com", json!({})).await;
    let (_, body) = app
        .gql(
            SIGN_IN,
            json!({ "e": "owner@example.com", "c": mail.code() }),
        )
        .await;
    assert_eq!(
        body["data"]["signInWithEmailCode"]["user"]["emailVerified"], true,
        "{body}"
    );
    assert_eq!(
        code(&app.login("owner@example.com", PASSWORD).await),
        "INVALID_CREDENTIALS"
    );
    let (_, body) = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": refresh }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    let (status, _) = app.gql_as(Some(&api), "{ me { id } }", json!({})).await;
    assert_eq!(status, 401);
    let mails = mail::settled(&app.mail_dir, "owner@example.com").await;
    assert!(
        mails
            .iter()
            .any(|m| m.text.contains("signing in by email proved")),
        "{mails:?}"
    );
}

#[tokio::test]
async fn the_sign_in_limit_refuses_codes_and_tells_the_account_once() {
    let app = spawn(&[("LOGIN_RATE_LIMIT", "2/15m")]).await;
    let user = app.signed_in_user("limited@example.com").await;
    let mail = request(&app, "limited@example.com", json!({})).await;
    for _ in 0..2 {
        let (_, body) = app
            .gql(
                SIGN_IN,
                json!({ "e": "limited@example.com", "c": wrong(&mail.code()) }),
            )
            .await;
        assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    }
    for _ in 0..2 {
        let (_, body) = app
            .gql(
                SIGN_IN,
                json!({ "e": "limited@example.com", "c": mail.code() }),
            )
            .await;
        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    }
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "{ securityEvents(first: 5, filter: { types: [LOGIN_RATE_LIMITED] }) { nodes { amr } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["securityEvents"]["nodes"],
        json!([{ "amr": ["email"] }]),
        "{body}"
    );
}
