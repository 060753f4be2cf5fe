//! Changing one's address (API.md §8.5): the journey, and every refusal,
//! written as what a user and an attacker do.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, code, mail, spawn_app, spawn_app_with};

const REQUEST: &str = "mutation($e: String!) { requestEmailChange(newEmail: $e) }";
const CONFIRM: &str =
    "mutation($u: String!, $t: String!) { confirmEmailChange(uid: $u, token: $t) { email } }";

async fn request(app: &TestApp, auth: &str, new_email: &str) -> Value {
    app.gql_as(Some(auth), REQUEST, json!({ "e": new_email }))
        .await
        .1
}

async fn open_link(app: &TestApp, uid: &str, token: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/confirm-email/{uid}/{token}")))
        .send()
        .await
        .unwrap()
}

async fn me_email(app: &TestApp, auth: &str) -> (u16, Value) {
    let (status, body) = app.gql_as(Some(auth), "{ me { email } }", json!({})).await;
    (status, body["data"]["me"]["email"].clone())
}

/// The link moves the account; the requesting session stays, every other
/// one ends; both addresses hear of it; a re-opened link says "changed".
#[tokio::test]
async fn an_address_change_goes_through_its_link_and_ends_other_sessions() {
    let app = spawn_app().await;
    let user = app.signed_in_user("old.home@example.com").await;
    let other = app.login("old.home@example.com", PASSWORD).await["data"]["login"]["accessToken"]
        .as_str()
        .map(|t| format!("Bearer {t}"))
        .unwrap();
    let body = request(&app, &user.bearer(), "new.home@example.com").await;
    assert_eq!(body["data"]["requestEmailChange"], true, "{body}");
    let link = mail::wait_for(&app.mail_dir, "new.home@example.com", 1).await;
    assert_eq!(link[0].subject, "Confirm your new email address");
    let old = mail::wait_for(&app.mail_dir, "old.home@example.com", 2).await;
    assert!(old[1].text.contains("new.home@example.com"), "{:?}", old[1]);
    // Nothing has moved yet.
    assert_eq!(
        code(&app.login("new.home@example.com", PASSWORD).await),
        "INVALID_CREDENTIALS"
    );

    let (uid, token) = link[0].link("confirm-email");
    let resp = open_link(&app, &uid, &token).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
    assert!(resp.text().await.unwrap().contains("Email address changed"));

    assert_eq!(
        me_email(&app, &user.bearer()).await,
        (200, json!("new.home@example.com"))
    );
    assert_eq!(
        me_email(&app, &other).await.0,
        401,
        "the other session ended"
    );
    assert_eq!(
        code(&app.login("old.home@example.com", PASSWORD).await),
        "INVALID_CREDENTIALS"
    );
    assert!(
        app.login("new.home@example.com", PASSWORD).await["data"]["login"]["accessToken"]
            .is_string()
    );
    let old = mail::wait_for(&app.mail_dir, "old.home@example.com", 3).await;
    assert!(
        old[2].text.contains("was changed to new.home@example.com"),
        "{:?}",
        old[2]
    );

    // Opened again (a mail scanner came first): "changed", nothing more.
    let resp = open_link(&app, &uid, &token).await;
    assert_eq!(resp.status().as_u16(), 200);
    let (_, body) = app.gql(CONFIRM, json!({ "u": uid, "t": token })).await;
    assert_eq!(
        body["data"]["confirmEmailChange"]["email"], "new.home@example.com",
        "{body}"
    );
    let (_, events) = app
        .gql_as(
            Some(&user.bearer()),
            "{ securityEvents(first: 20) { edges { node { type } } } }",
            json!({}),
        )
        .await;
    let events = events.to_string();
    assert!(
        events.contains("EMAIL_CHANGE_REQUESTED") && events.contains("EMAIL_CHANGED"),
        "{events}"
    );
}

/// Asking for an address that has an account answers and mails the
/// requester exactly as a free one does; only that account's owner hears,
/// and nothing changes.
#[tokio::test]
async fn a_taken_address_looks_free_to_the_requester_and_only_its_owner_hears() {
    let app = spawn_app().await;
    let prober = app.signed_in_user("prober@example.com").await;
    app.activated_user("taken@example.com").await;
    let free = request(&app, &prober.bearer(), "free@example.com").await;
    let taken = request(&app, &prober.bearer(), "taken@example.com").await;
    assert_eq!(free, taken);
    let mails = mail::wait_for(&app.mail_dir, "prober@example.com", 3).await;
    // The outbox may deliver the two notices in either order.
    let notice = |to: &str| {
        let mail = mails.iter().find(|m| m.text.contains(to));
        mail.unwrap_or_else(|| panic!("no notice naming {to}: {mails:?}"))
            .text
            .replace(to, "ADDRESS")
    };
    assert_eq!(notice("free@example.com"), notice("taken@example.com"));
    let owner = mail::wait_for(&app.mail_dir, "taken@example.com", 2).await;
    assert_eq!(owner[1].subject, "Someone tried to use your email address");
    assert!(!owner[1].text.contains("/confirm-email/"));
    let (_, body) = app
        .gql_as(Some(&prober.bearer()), "{ me { email } }", json!({}))
        .await;
    assert_eq!(body["data"]["me"]["email"], "prober@example.com");
}

/// A link dies on a newer request and on a password change; a malformed
/// address is BAD_USER_INPUT; a stale session must re-authenticate; and
/// with EMAIL_CHANGE_REDIRECT_URL the page redirects.
#[tokio::test]
async fn links_die_on_a_newer_request_and_a_password_change() {
    let app = spawn_app_with(&[
        ("EMAIL_CHANGE_REDIRECT_URL", "https://front.example/email"),
        ("PRIVILEGED_SESSION_TTL", "3s"),
    ])
    .await;
    let user = app.signed_in_user("mover@example.com").await;
    let body = request(&app, &user.bearer(), "not an address").await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    request(&app, &user.bearer(), "first@example.com").await;
    let links = mail::wait_for(&app.mail_dir, "first@example.com", 1).await;
    let (uid, first) = links[0].link("confirm-email");
    request(&app, &user.bearer(), "first@example.com").await;
    let links = mail::wait_for(&app.mail_dir, "first@example.com", 2).await;
    let second = links
        .iter()
        .map(|m| m.link("confirm-email").1)
        .find(|t| *t != first)
        .unwrap();
    let (_, body) = app.gql(CONFIRM, json!({ "u": uid, "t": first })).await;
    assert_eq!(code(&body), "INVALID_TOKEN", "a superseded link: {body}");
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n, confirmPassword: $n) { accessToken } }",
            json!({ "o": PASSWORD, "n": "another sturdy passphrase 7" }),
        )
        .await;
    let fresh = format!(
        "Bearer {}",
        body["data"]["changePassword"]["accessToken"]
            .as_str()
            .unwrap()
    );
    let resp = open_link(&app, &uid, &second).await;
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(
        resp.headers()["location"],
        "https://front.example/email?status=invalid"
    );
    assert_eq!(me_email(&app, &fresh).await.1, "mover@example.com");

    tokio::time::sleep(std::time::Duration::from_millis(3300)).await;
    let body = request(&app, &fresh, "late@example.com").await;
    assert_eq!(code(&body), "REAUTHENTICATION_REQUIRED", "{body}");
}
