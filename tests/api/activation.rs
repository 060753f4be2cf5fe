//! Activation by link and by code, resending, and the limits on codes and
//! mail.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{PASSWORD, code, mail, spawn_app, spawn_app_with};

const ACTIVATE: &str = "mutation($uid: String!, $token: String!) { activateAccount(uid: $uid, token: $token) { id isActive } }";
const ACTIVATE_CODE: &str = "mutation($e: String!, $c: String!) { activateAccountWithCode(email: $e, code: $c) { id isActive } }";
const RESEND: &str = "mutation($e: String!) { resendActivationEmail(email: $e) }";

#[tokio::test]
async fn an_account_is_inactive_until_activated_by_link() {
    let app = spawn_app().await;
    app.register("new@example.com", PASSWORD).await;
    let body = app.login("new@example.com", PASSWORD).await;
    assert_eq!(code(&body), "ACCOUNT_NOT_ACTIVE");
    // A wrong password says nothing about the account's state.
    assert_eq!(
        code(&app.login("new@example.com", "wrong password here").await),
        "INVALID_CREDENTIALS"
    );
    let mail = &mail::wait_for(&app.mail_dir, "new@example.com", 1).await[0];
    let (uid, token) = mail.link("activate");
    assert!(
        mail.text.contains("http://localhost:8000/activate/"),
        "links come from PUBLIC_URL"
    );
    let (_, body) = app
        .gql(ACTIVATE, json!({ "uid": uid, "token": token }))
        .await;
    assert_eq!(body["data"]["activateAccount"]["isActive"], true, "{body}");
    // Used up: both the link and the code.
    let (_, body) = app
        .gql(ACTIVATE, json!({ "uid": uid, "token": token }))
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    let (_, body) = app
        .gql(
            ACTIVATE_CODE,
            json!({ "e": "new@example.com", "c": mail.code() }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    let body = app.login("new@example.com", PASSWORD).await;
    assert_eq!(body["data"]["login"]["__typename"], "AuthPayload", "{body}");
}

#[tokio::test]
async fn the_get_link_activates_and_answers_a_page_or_a_redirect() {
    let app = spawn_app().await;
    app.register("link@example.com", PASSWORD).await;
    let mail = &mail::wait_for(&app.mail_dir, "link@example.com", 1).await[0];
    let (uid, token) = mail.link("activate");
    let resp = app
        .client
        .get(app.url(&format!("/activate/{uid}/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(resp.text().await.unwrap().contains("activated"));
    // Opened again (say a mail scanner came first): still "activated".
    let resp = app
        .client
        .get(app.url(&format!("/activate/{uid}/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let resp = app
        .client
        .get(app.url(&format!("/activate/{uid}/{token}x")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    // The code died with the link.
    let (_, body) = app
        .gql(
            ACTIVATE_CODE,
            json!({ "e": "link@example.com", "c": mail.code() }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");

    let app =
        spawn_app_with(&[("ACTIVATION_REDIRECT_URL", "https://front.example/activated")]).await;
    app.register("redirect@example.com", PASSWORD).await;
    let mail = &mail::wait_for(&app.mail_dir, "redirect@example.com", 1).await[0];
    let (uid, token) = mail.link("activate");
    let resp = app
        .client
        .get(app.url(&format!("/activate/{uid}/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(
        resp.headers()["location"],
        "https://front.example/activated?status=activated"
    );
    let resp = app
        .client
        .get(app.url(&format!("/activate/{uid}/nonsense")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["location"],
        "https://front.example/activated?status=invalid"
    );
    let resp = app
        .client
        .get(app.url("/activate/@@@/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["location"],
        "https://front.example/activated?status=invalid"
    );
}

#[tokio::test]
async fn activation_by_code_uses_up_code_and_link() {
    let app = spawn_app().await;
    app.register("code@example.com", PASSWORD).await;
    let mail = &mail::wait_for(&app.mail_dir, "code@example.com", 1).await[0];
    let (_, body) = app
        .gql(
            ACTIVATE_CODE,
            json!({ "e": "CODE@example.com", "c": mail.code() }),
        )
        .await;
    assert_eq!(
        body["data"]["activateAccountWithCode"]["isActive"], true,
        "{body}"
    );
    let (_, body) = app
        .gql(
            ACTIVATE_CODE,
            json!({ "e": "code@example.com", "c": mail.code() }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    let (uid, token) = mail.link("activate");
    let (_, body) = app
        .gql(ACTIVATE, json!({ "uid": uid, "token": token }))
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    // Malformed codes are input errors.
    let (_, body) = app
        .gql(
            ACTIVATE_CODE,
            json!({ "e": "code@example.com", "c": "12ab" }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn one_users_uid_with_anothers_token_is_invalid() {
    let app = spawn_app().await;
    app.register("one@example.com", PASSWORD).await;
    app.register("two@example.com", PASSWORD).await;
    let (uid_one, _) =
        mail::wait_for(&app.mail_dir, "one@example.com", 1).await[0].link("activate");
    let (_, token_two) =
        mail::wait_for(&app.mail_dir, "two@example.com", 1).await[0].link("activate");
    let (_, body) = app
        .gql(ACTIVATE, json!({ "uid": uid_one, "token": token_two }))
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    let (_, body) = app
        .gql(
            ACTIVATE,
            json!({ "uid": "not-base64!", "token": token_two }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
}

#[tokio::test]
async fn links_and_codes_expire() {
    let app = spawn_app_with(&[("ACTIVATION_TOKEN_TTL", "1s"), ("OTP_TTL", "1s")]).await;
    app.register("late@example.com", PASSWORD).await;
    let mail = &mail::wait_for(&app.mail_dir, "late@example.com", 1).await[0];
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (uid, token) = mail.link("activate");
    let (_, body) = app
        .gql(ACTIVATE, json!({ "uid": uid, "token": token }))
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    let (_, body) = app
        .gql(
            ACTIVATE_CODE,
            json!({ "e": "late@example.com", "c": mail.code() }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
}

fn wrong_code(right: &str) -> String {
    if right == "000000" {
        "000001".into()
    } else {
        "000000".into()
    }
}

#[tokio::test]
async fn wrong_codes_in_aliases_cannot_exceed_the_attempt_limit() {
    let app = spawn_app_with(&[("OTP_MAX_ATTEMPTS", "2"), ("LOGIN_RATE_LIMIT", "1000/15m")]).await;
    app.register("alias@example.com", PASSWORD).await;
    let right = mail::wait_for(&app.mail_dir, "alias@example.com", 1).await[0].code();
    let wrong = wrong_code(&right);
    let aliases = |n: usize| -> String {
        (0..n)
            .map(|i| format!("a{i}: activateAccountWithCode(email: \"alias@example.com\", code: \"{wrong}\") {{ id }} "))
            .collect()
    };
    // More than 3 anonymous writes in one request: nothing runs (API.md §8.1).
    let (status, body) = app
        .gql(&format!("mutation {{ {} }}", aliases(10)), json!({}))
        .await;
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"), "{body}");
    let (_, body) = app
        .gql(&format!("mutation {{ {} }}", aliases(3)), json!({}))
        .await;
    // One answer for every address (API.md §8.1): never INVALID_OTP, never
    // how many tries are left. After the code's 2 tries it is dead.
    let errors = body["errors"].as_array().unwrap();
    let answers: Vec<&str> = errors
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(answers, ["INVALID_TOKEN"; 3], "{body}");
    assert!(
        errors
            .iter()
            .all(|e| e["extensions"]["attemptsLeft"].is_null())
    );
    let (_, body) = app
        .gql(
            ACTIVATE_CODE,
            json!({ "e": "alias@example.com", "c": right }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
}

#[tokio::test]
async fn wrong_codes_in_parallel_cannot_exceed_the_attempt_limit() {
    let app = spawn_app_with(&[("OTP_MAX_ATTEMPTS", "3"), ("LOGIN_RATE_LIMIT", "1000/15m")]).await;
    app.register("parallel@example.com", PASSWORD).await;
    let right = mail::wait_for(&app.mail_dir, "parallel@example.com", 1).await[0].code();
    let wrong = wrong_code(&right);
    let body =
        json!({ "query": ACTIVATE_CODE, "variables": { "e": "parallel@example.com", "c": wrong } });
    let answers = app.concurrently(vec![(app.base.clone(), body); 20]).await;
    let invalid_otp = answers.iter().filter(|b| code(b) == "INVALID_OTP").count();
    assert!(invalid_otp <= 3, "{invalid_otp} wrong tries were counted");
    let (_, body) = app
        .gql(
            ACTIVATE_CODE,
            json!({ "e": "parallel@example.com", "c": right }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
}

#[tokio::test]
async fn resend_replaces_the_code_and_answers_true_for_any_address() {
    let app = spawn_app().await;
    app.register("resend@example.com", PASSWORD).await;
    let first = mail::wait_for(&app.mail_dir, "resend@example.com", 1).await[0].clone();
    for email in ["resend@example.com", "nobody@example.com"] {
        let (_, body) = app.gql(RESEND, json!({ "e": email })).await;
        assert_eq!(body["data"]["resendActivationEmail"], true, "{body}");
    }
    let (_, body) = app.gql(RESEND, json!({ "e": "not an address" })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let mails = mail::wait_for(&app.mail_dir, "resend@example.com", 2).await;
    assert!(
        mail::settled(&app.mail_dir, "nobody@example.com")
            .await
            .is_empty()
    );
    let second = &mails[1];
    if first.code() != second.code() {
        let (_, body) = app
            .gql(
                ACTIVATE_CODE,
                json!({ "e": "resend@example.com", "c": first.code() }),
            )
            .await;
        assert_eq!(code(&body), "INVALID_TOKEN", "the old code was replaced");
    }
    let (_, body) = app
        .gql(
            ACTIVATE_CODE,
            json!({ "e": "resend@example.com", "c": second.code() }),
        )
        .await;
    assert_eq!(
        body["data"]["activateAccountWithCode"]["isActive"], true,
        "{body}"
    );
    // Active accounts get no more activation mail.
    app.gql(RESEND, json!({ "e": "resend@example.com" })).await;
    assert_eq!(
        mail::settled(&app.mail_dir, "resend@example.com")
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn the_mail_budget_per_address_is_silent() {
    let app = spawn_app_with(&[("MAIL_RATE_LIMIT", "2/1h")]).await;
    app.register("budget@example.com", PASSWORD).await;
    for _ in 0..4 {
        let (_, body) = app.gql(RESEND, json!({ "e": "budget@example.com" })).await;
        assert_eq!(body["data"]["resendActivationEmail"], true);
        assert!(body["errors"].is_null());
    }
    assert_eq!(
        mail::settled(&app.mail_dir, "budget@example.com")
            .await
            .len(),
        2
    );
}
