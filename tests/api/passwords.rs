//! Changing a password, resetting it by mailed link (GraphQL and HTML form),
//! and the security notices.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, code, mail, spawn_app, spawn_app_with};

const CHANGE: &str = "mutation($o: String!, $n: String!, $c: String!) { changePassword(oldPassword: $o, newPassword: $n, confirmPassword: $c) { accessToken refreshToken user { email } } }";
const REQUEST: &str = "mutation($e: String!) { requestPasswordReset(email: $e) }";
const RESET: &str = "mutation($u: String!, $t: String!, $n: String!, $c: String!) { resetPassword(uid: $u, token: $t, newPassword: $n, confirmPassword: $c) }";
const NEW_PASSWORD: &str = "another sturdy passphrase 7";
const ME: &str = "{ me { email } }";

async fn reset_mail(app: &TestApp, email: &str, nth: usize) -> mail::Mail {
    let (_, body) = app.gql(REQUEST, json!({ "e": email })).await;
    assert_eq!(body["data"]["requestPasswordReset"], true, "{body}");
    mail::wait_for(&app.mail_dir, email, nth)
        .await
        .pop()
        .unwrap()
}

#[tokio::test]
async fn changing_the_password_ends_every_session_but_keeps_api_tokens() {
    let app = spawn_app().await;
    let user = app.signed_in_user("change@example.com").await;
    let other_session =
        app.login("change@example.com", PASSWORD).await["data"]["login"]["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
    let api = app.api_token(&user.bearer()).await;
    let auth = Some(user.bearer());
    let (_, body) = app
        .gql_as(
            auth.as_deref(),
            CHANGE,
            json!({ "o": "wrong password!!", "n": NEW_PASSWORD, "c": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_CREDENTIALS");
    let (_, body) = app
        .gql_as(
            auth.as_deref(),
            CHANGE,
            json!({ "o": PASSWORD, "n": PASSWORD, "c": PASSWORD }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(body["errors"][0]["extensions"]["fields"]["newPassword"].is_array());
    let (_, body) = app
        .gql_as(
            auth.as_deref(),
            CHANGE,
            json!({ "o": PASSWORD, "n": "password1", "c": "password1" }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let (_, body) = app
        .gql_as(
            auth.as_deref(),
            CHANGE,
            json!({ "o": PASSWORD, "n": NEW_PASSWORD, "c": "different" }),
        )
        .await;
    assert!(
        body["errors"][0]["extensions"]["fields"]["confirmPassword"].is_array(),
        "{body}"
    );

    let (_, body) = app
        .gql_as(
            auth.as_deref(),
            CHANGE,
            json!({ "o": PASSWORD, "n": NEW_PASSWORD, "c": NEW_PASSWORD }),
        )
        .await;
    let fresh = body["data"]["changePassword"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert_eq!(
        body["data"]["changePassword"]["user"]["email"],
        "change@example.com"
    );
    assert_eq!(
        app.gql_as(auth.as_deref(), ME, json!({})).await.0,
        401,
        "this session ended"
    );
    assert_eq!(
        app.gql_as(Some(&format!("Bearer {other_session}")), ME, json!({}))
            .await
            .0,
        401,
        "other sessions ended"
    );
    assert_eq!(
        app.gql_as(Some(&format!("Bearer {fresh}")), ME, json!({}))
            .await
            .0,
        200,
        "the new session works"
    );
    assert_eq!(
        app.gql_as(Some(&api), ME, json!({})).await.0,
        200,
        "API tokens stay"
    );
    let (_, body) = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": user.refresh_token }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    assert_eq!(
        code(&app.login("change@example.com", PASSWORD).await),
        "INVALID_CREDENTIALS"
    );
    assert_eq!(
        app.login("change@example.com", NEW_PASSWORD).await["data"]["login"]["__typename"],
        "AuthPayload"
    );
    let mails = mail::wait_for(&app.mail_dir, "change@example.com", 2).await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject.contains("your password was changed"))
    );
    let (_, body) = app
        .gql(
            CHANGE,
            json!({ "o": PASSWORD, "n": NEW_PASSWORD, "c": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let app = spawn_app().await;
    let user = app.signed_in_user("reset@example.com").await;
    let m = reset_mail(&app, "reset@example.com", 2).await;
    assert!(
        m.text.contains("http://localhost:8000/reset-password/"),
        "{}",
        m.text
    );
    let (uid, token) = m.link("reset-password");
    let (_, body) = app
        .gql(
            RESET,
            json!({ "u": uid, "t": token, "n": "short", "c": "short" }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let (_, body) = app
        .gql(
            RESET,
            json!({ "u": uid, "t": token, "n": NEW_PASSWORD, "c": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(body["data"]["resetPassword"], true, "{body}");
    assert_eq!(app.gql_as(Some(&user.bearer()), ME, json!({})).await.0, 401);
    let (_, body) = app.gql(RESET, json!({ "u": uid, "t": token, "n": "yet another passphrase 9", "c": "yet another passphrase 9" })).await;
    assert_eq!(code(&body), "INVALID_TOKEN", "single use");
    assert_eq!(
        app.login("reset@example.com", NEW_PASSWORD).await["data"]["login"]["__typename"],
        "AuthPayload"
    );
    let mails = mail::wait_for(&app.mail_dir, "reset@example.com", 3).await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject.contains("your password was reset"))
    );
}

#[tokio::test]
async fn unknown_and_inactive_addresses_get_the_same_answer_and_no_mail() {
    let app = spawn_app().await;
    app.register("inactive@example.com", PASSWORD).await;
    mail::wait_for(&app.mail_dir, "inactive@example.com", 1).await;
    for email in ["nobody@example.com", "inactive@example.com"] {
        let (_, body) = app.gql(REQUEST, json!({ "e": email })).await;
        assert_eq!(body["data"]["requestPasswordReset"], true);
    }
    assert!(
        mail::settled(&app.mail_dir, "nobody@example.com")
            .await
            .is_empty()
    );
    assert_eq!(
        app.mails_to_count("inactive@example.com"),
        1,
        "only the activation mail"
    );
    let (_, body) = app.gql(REQUEST, json!({ "e": "not an address" })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_reset_link_dies_when_the_password_changes_expires_and_names_its_user() {
    let app = spawn_app_with(&[("PASSWORD_RESET_TTL", "2s")]).await;
    let user = app.signed_in_user("dies@example.com").await;
    let (uid, token) = reset_mail(&app, "dies@example.com", 2)
        .await
        .link("reset-password");
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            CHANGE,
            json!({ "o": PASSWORD, "n": NEW_PASSWORD, "c": NEW_PASSWORD }),
        )
        .await;
    assert!(body["data"]["changePassword"].is_object(), "{body}");
    let (_, body) = app
        .gql(
            RESET,
            json!({ "u": uid, "t": token, "n": PASSWORD, "c": PASSWORD }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN", "dead after a password change");

    app.activated_user("other@example.com").await;
    let (other_uid, _) = reset_mail(&app, "other@example.com", 2)
        .await
        .link("reset-password");
    let (_, fresh_token) = reset_mail(&app, "dies@example.com", 4)
        .await
        .link("reset-password");
    let (_, body) = app
        .gql(
            RESET,
            json!({ "u": other_uid, "t": fresh_token, "n": PASSWORD, "c": PASSWORD }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN", "another user's uid");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (_, body) = app
        .gql(
            RESET,
            json!({ "u": uid, "t": fresh_token, "n": PASSWORD, "c": PASSWORD }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN", "expired");
}

#[tokio::test]
async fn reset_mail_follows_the_front_end_url_and_the_mail_budget() {
    let app = spawn_app_with(&[
        ("PASSWORD_RESET_URL", "https://app.example/reset"),
        ("MAIL_RATE_LIMIT", "2/1h"),
    ])
    .await;
    app.activated_user("front@example.com").await;
    let m = reset_mail(&app, "front@example.com", 2).await;
    assert!(
        m.text.contains("https://app.example/reset?uid="),
        "{}",
        m.text
    );
    assert!(m.text.contains("&token="));
    for _ in 0..3 {
        let (_, body) = app.gql(REQUEST, json!({ "e": "front@example.com" })).await;
        assert_eq!(body["data"]["requestPasswordReset"], true);
    }
    assert_eq!(
        mail::settled(&app.mail_dir, "front@example.com")
            .await
            .len(),
        2,
        "activation + one reset, then silence"
    );
}

#[tokio::test]
async fn the_html_reset_form_works_without_javascript() {
    let app = spawn_app().await;
    app.activated_user("form@example.com").await;
    let (uid, token) = reset_mail(&app, "form@example.com", 2)
        .await
        .link("reset-password");
    let url = app.url(&format!("/reset-password/{uid}/{token}"));
    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("<form method=\"post\"")
            && html.contains("name=\"newPassword\"")
            && !html.contains("<script")
    );
    let resp = app
        .client
        .post(&url)
        .form(&[
            ("newPassword", NEW_PASSWORD),
            ("confirmPassword", "not the same"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().await.unwrap().contains("Repeated password"));
    let resp = app
        .client
        .post(&url)
        .form(&[
            ("newPassword", NEW_PASSWORD),
            ("confirmPassword", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.unwrap().contains("Password changed"));
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status().as_u16(),
        400,
        "used"
    );
    assert_eq!(
        app.login("form@example.com", NEW_PASSWORD).await["data"]["login"]["__typename"],
        "AuthPayload"
    );
    let resp = app
        .client
        .post(&url)
        .body("x".repeat(100_000))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
}

/// Asking a reset for an address with an account cost a write transaction
/// and a mail; for one without, two reads: the answer's time told which.
/// Now both write, within two inserts (the mail and its event) of each other.
#[tokio::test]
async fn a_reset_request_costs_the_same_work_for_any_address() {
    use std::sync::atomic::Ordering;
    // The activation mail spends the address's budget, so the resets queue
    // no mail: the mail worker, woken by a queued message, would otherwise
    // run its own statements while a request is being counted.
    let app = spawn_app_with(&[("MAIL_RATE_LIMIT", "1/1h")]).await;
    app.activated_user("known@example.com").await;
    let cost = |email: &'static str| {
        let app = &app;
        async move {
            let before = app.queries.load(Ordering::SeqCst);
            let (_, body) = app
                .gql(
                    "mutation($e: String!) { requestPasswordReset(email: $e) }",
                    json!({ "e": email }),
                )
                .await;
            assert_eq!(body["data"]["requestPasswordReset"], true, "{body}");
            app.queries.load(Ordering::SeqCst) - before
        }
    };
    // The fewest of three: the mail worker's own statements count too.
    let (mut known, mut unknown) = (u64::MAX, u64::MAX);
    for _ in 0..3 {
        unknown = unknown.min(cost("nobody@example.com").await);
        known = known.min(cost("known@example.com").await);
    }
    assert!(
        known.abs_diff(unknown) <= 2,
        "known {known} statements, unknown {unknown}"
    );
}
