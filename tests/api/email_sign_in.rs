//! Passwordless sign-in by email (API.md §9.2): the code and the link, the
//! confirmation page that mail scanners cannot burn, single use, expiry, a
//! newer request voiding the older, and the second factor still required.

use serde_json::{Value, json};

use crate::helpers::two_factor::{app_mails, with_two_factor};
use crate::helpers::{PASSWORD, TestApp, code, mail, spawn_app_with};

pub const REQUEST: &str = "mutation($e: String!, $r: String, $c: String) { requestEmailSignIn(email: $e, redirectTo: $r, codeChallenge: $c) }";
pub const SIGN_IN: &str = "mutation($e: String!, $c: String!) { signInWithEmailCode(email: $e, code: $c) { __typename ... on AuthPayload { accessToken user { id email emailVerified isActive } } ... on OtpChallenge { challengeId } } }";
pub const EXCHANGE: &str = "mutation($c: String!, $v: String) { exchangeSocialCode(code: $c, codeVerifier: $v) { __typename ... on AuthPayload { accessToken user { email emailVerified } } } }";
const SESSIONS: &str = "{ sessions { amr aal } }";
pub const TARGET: &str = "https://app.example.com/signed-in";

pub async fn spawn(extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("AUTH_REDIRECT_URLS", TARGET)];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

/// Asks for a sign-in mail and returns the newest one to `email`.
pub async fn request(app: &TestApp, email: &str, vars: Value) -> mail::Mail {
    let before = app_mails(app, email).len();
    let mut all = json!({ "e": email });
    all.as_object_mut()
        .unwrap()
        .extend(vars.as_object().unwrap().clone());
    let (_, body) = app.gql(REQUEST, all).await;
    assert_eq!(body["data"]["requestEmailSignIn"], true, "{body}");
    mail::wait_for(&app.mail_dir, email, before + 1)
        .await
        .pop()
        .unwrap()
}

/// The `/email-sign-in/{token}` path of a sign-in mail.
pub fn link_path(mail: &mail::Mail) -> String {
    let at = mail.text.find("/email-sign-in/").expect("a link");
    mail.text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

async fn post_link(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.post(app.url(path)).send().await.unwrap()
}

/// The exchange code a `303` hands to the redirect target.
pub fn exchange_code(resp: &reqwest::Response) -> String {
    let location = resp.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(TARGET), "{location}");
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code in the redirect")
}

async fn amr(app: &TestApp, access_token: &str) -> Value {
    let (_, body) = app
        .gql_as(Some(&format!("Bearer {access_token}")), SESSIONS, json!({}))
        .await;
    body["data"]["sessions"][0]["amr"].clone()
}

#[tokio::test]
async fn a_code_signs_in_a_new_address_and_makes_one_verified_account() {
    let app = spawn(&[]).await;
    let mail = request(&app, "new@example.com", json!({})).await;
    assert!(mail.text.contains("http://localhost:8000/email-sign-in/"));
    let (_, body) = app
        .gql(SIGN_IN, json!({ "e": "new@example.com", "c": mail.code() }))
        .await;
    let payload = &body["data"]["signInWithEmailCode"];
    assert_eq!(payload["__typename"], "AuthPayload", "{body}");
    assert_eq!(payload["user"]["emailVerified"], true);
    assert_eq!(payload["user"]["isActive"], true);
    let token = payload["accessToken"].as_str().unwrap();
    assert_eq!(amr(&app, token).await, json!(["email"]));
    // Used up: the code and the link die together.
    let (_, body) = app
        .gql(SIGN_IN, json!({ "e": "new@example.com", "c": mail.code() }))
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    let resp = app
        .client
        .get(app.url(&link_path(&mail)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    // The account has no password: no password signs in.
    assert_eq!(
        code(&app.login("new@example.com", PASSWORD).await),
        "INVALID_CREDENTIALS"
    );
}

#[tokio::test]
async fn a_scanners_get_and_head_leave_the_link_usable_and_the_post_signs_in() {
    let app = spawn(&[]).await;
    app.activated_user("link@example.com").await;
    let mail = request(&app, "link@example.com", json!({})).await;
    let path = link_path(&mail);
    for _ in 0..2 {
        let resp = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let page = resp.text().await.unwrap();
        assert!(page.contains("l***@example.com"), "{page}");
        assert!(page.contains("method=\"post\""), "{page}");
        assert!(
            !page.contains(&path["/email-sign-in/".len()..]),
            "token on the page"
        );
        let resp = app.client.head(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "HEAD");
    }
    let resp = post_link(&app, &path).await;
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
    let exchange = exchange_code(&resp);
    let (_, body) = app.gql(EXCHANGE, json!({ "c": exchange })).await;
    let payload = &body["data"]["exchangeSocialCode"];
    assert_eq!(payload["user"]["email"], "link@example.com", "{body}");
    assert_eq!(
        amr(&app, payload["accessToken"].as_str().unwrap()).await,
        json!(["email"])
    );
    // The exchange code, the link and the code are each used up.
    let (_, body) = app.gql(EXCHANGE, json!({ "c": exchange })).await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    let resp = post_link(&app, &path).await;
    assert_eq!(resp.status().as_u16(), 404);
    assert!(resp.headers().get("location").is_none());
    let (_, body) = app
        .gql(
            SIGN_IN,
            json!({ "e": "link@example.com", "c": mail.code() }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
}

#[tokio::test]
async fn parallel_posts_of_one_link_sign_in_once() {
    let app = spawn(&[]).await;
    let mail = request(&app, "race@example.com", json!({})).await;
    let path = link_path(&mail);
    let posts = (0..8).map(|_| post_link(&app, &path));
    let answers = futures_util::future::join_all(posts).await;
    let won: Vec<_> = answers
        .iter()
        .filter(|r| r.status().as_u16() == 303)
        .collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        answers.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    let (_, body) = app
        .gql(EXCHANGE, json!({ "c": exchange_code(won[0]) }))
        .await;
    assert_eq!(
        body["data"]["exchangeSocialCode"]["__typename"], "AuthPayload",
        "{body}"
    );
}

#[tokio::test]
async fn a_link_asked_for_with_a_challenge_signs_in_only_the_app_holding_its_verifier() {
    let app = spawn(&[]).await;
    // BASE64URL(SHA256(verifier)), as Python's hashlib and base64 compute it.
    let verifier = "dBjftJeZ4CVP-mJ92IZo1uDIhiRKf9sgnnH6u0P69qY";
    let challenge = "c2mgtL2NyFIOeUJKVUWYBLIC_YuuQsgbDpxjLT1pgL0";
    for (given, answer) in [
        (None, "INVALID_TOKEN"),
        (Some("x".repeat(43)), "INVALID_TOKEN"),
        (Some(verifier.to_owned()), ""),
    ] {
        let mail = request(
            &app,
            "pkce@example.com",
            json!({ "c": challenge, "r": format!("{TARGET}?next=%2Fhome") }),
        )
        .await;
        let resp = post_link(&app, &link_path(&mail)).await;
        assert!(
            resp.headers()["location"]
                .to_str()
                .unwrap()
                .contains("next=%2Fhome")
        );
        let (_, body) = app
            .gql(EXCHANGE, json!({ "c": exchange_code(&resp), "v": given }))
            .await;
        match answer {
            "" => assert_eq!(
                body["data"]["exchangeSocialCode"]["__typename"], "AuthPayload",
                "{body}"
            ),
            code_ => assert_eq!(code(&body), code_, "{body}"),
        }
    }
}

#[tokio::test]
async fn expired_records_and_replaced_ones_sign_no_one_in() {
    let app = spawn(&[("EMAIL_SIGN_IN_TTL", "1s")]).await;
    let mail = request(&app, "late@example.com", json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, body) = app
        .gql(
            SIGN_IN,
            json!({ "e": "late@example.com", "c": mail.code() }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    assert_eq!(
        post_link(&app, &link_path(&mail)).await.status().as_u16(),
        404
    );

    let app = spawn(&[]).await;
    let old = request(&app, "twice@example.com", json!({})).await;
    let new = request(&app, "twice@example.com", json!({})).await;
    assert_eq!(
        post_link(&app, &link_path(&old)).await.status().as_u16(),
        404
    );
    if old.code() != new.code() {
        let (_, body) = app
            .gql(
                SIGN_IN,
                json!({ "e": "twice@example.com", "c": old.code() }),
            )
            .await;
        assert_eq!(code(&body), "INVALID_TOKEN");
    }
    let (_, body) = app
        .gql(
            SIGN_IN,
            json!({ "e": "twice@example.com", "c": new.code() }),
        )
        .await;
    assert_eq!(
        body["data"]["signInWithEmailCode"]["__typename"], "AuthPayload",
        "{body}"
    );
}

#[tokio::test]
async fn the_second_factor_follows_an_email_sign_in() {
    let app = spawn(&[]).await;
    with_two_factor(&app, "mfa@example.com").await;
    let mail = request(&app, "mfa@example.com", json!({})).await;
    let before = app_mails(&app, "mfa@example.com").len();
    let (_, body) = app
        .gql(SIGN_IN, json!({ "e": "mfa@example.com", "c": mail.code() }))
        .await;
    let challenge = &body["data"]["signInWithEmailCode"];
    assert_eq!(challenge["__typename"], "OtpChallenge", "{body}");
    let otp = mail::wait_for(&app.mail_dir, "mfa@example.com", before + 1).await;
    let (_, body) = app
        .gql(
            "mutation($id: ID!, $c: String!) { verifyOtp(challengeId: $id, code: $c) { accessToken } }",
            json!({ "id": challenge["challengeId"], "c": otp.last().unwrap().code() }),
        )
        .await;
    let token = body["data"]["verifyOtp"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(amr(&app, token).await, json!(["email", "otp", "mfa"]));
}

#[tokio::test]
async fn a_pending_account_is_activated_verified_and_loses_its_password() {
    let app = spawn(&[]).await;
    app.register("pending@example.com", PASSWORD).await;
    mail::wait_for(&app.mail_dir, "pending@example.com", 1).await;
    let mail = request(&app, "pending@example.com", json!({})).await;
    let (_, body) = app
        .gql(
            SIGN_IN,
            json!({ "e": "pending@example.com", "c": mail.code() }),
        )
        .await;
    let user = &body["data"]["signInWithEmailCode"]["user"];
    assert_eq!(user["isActive"], true, "{body}");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(
        code(&app.login("pending@example.com", PASSWORD).await),
        "INVALID_CREDENTIALS"
    );
}

/// §8.8: an account without a password passes the empty string where a
/// mutation asks for it, and a fresh session is checked instead; any
/// other password is `INVALID_CREDENTIALS`.
#[tokio::test]
async fn an_account_without_a_password_proves_itself_by_a_fresh_session() {
    let app = spawn(&[]).await;
    let mail = request(&app, "nopass@example.com", json!({})).await;
    let (_, body) = app
        .gql(
            SIGN_IN,
            json!({ "e": "nopass@example.com", "c": mail.code() }),
        )
        .await;
    let token = body["data"]["signInWithEmailCode"]["accessToken"]
        .as_str()
        .unwrap();
    let auth = format!("Bearer {token}");
    let enable = "mutation($p: String!) { enableTwoFactor(password: $p) { twoFactorEnabled } }";
    let (_, body) = app
        .gql_as(Some(&auth), enable, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(code(&body), "INVALID_CREDENTIALS", "{body}");
    let (_, body) = app.gql_as(Some(&auth), enable, json!({ "p": "" })).await;
    assert_eq!(
        body["data"]["enableTwoFactor"]["twoFactorEnabled"], true,
        "{body}"
    );
    let delete = "mutation($p: String!) { deleteAccount(password: $p) }";
    let (_, body) = app
        .gql_as(Some(&auth), delete, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(code(&body), "INVALID_CREDENTIALS", "{body}");
    // Turning on a first factor in a recent session raised it (§8.8): fresh.
    let (_, body) = app.gql_as(Some(&auth), delete, json!({ "p": "" })).await;
    assert_eq!(body["data"]["deleteAccount"], true, "{body}");
}
