//! Sign-in with GitHub (API.md §9.1): plain OAuth 2.0 against a real
//! authorization server on loopback (npm `oidc-provider`, which answers a
//! request without `openid` as plain OAuth 2.0 and checks the client's
//! secret in the form body) and GitHub's two REST answers under its `/api`
//! (clients/oidc-op.mjs): the subject is the numeric `id`, the email the
//! primary entry, verified only when that entry is.

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::op::Op;
use crate::helpers::{TestApp, spawn_app_with};
use crate::social::{TARGET, VERIFIER, exchange};

/// An app with GitHub (client `gh`, trusted unless said) pointed at the
/// loopback server, and no OpenID provider.
async fn spawn(trusted: bool) -> (TestApp, Op) {
    let port = crate::helpers::free_port();
    let public = format!("http://127.0.0.1:{port}");
    let clients = json!([{
        "client_id": "gh",
        "client_secret": "gh-s3cret",
        "redirect_uris": [format!("{public}/auth/github/callback")],
        "token_endpoint_auth_method": "client_secret_post",
    }]);
    let op = Op::start_clients(clients, &[]);
    let (authorize, token, api) = (
        format!("{}/auth", op.issuer),
        format!("{}/token", op.issuer),
        format!("{}/api", op.issuer),
    );
    let bind = format!("127.0.0.1:{port}");
    let mut vars = vec![
        ("BIND_ADDR", bind.as_str()),
        ("PUBLIC_URL", public.as_str()),
        ("GITHUB_CLIENT_ID", "gh"),
        ("GITHUB_CLIENT_SECRET", "gh-s3cret"),
        ("GITHUB_AUTHORIZE_URL", authorize.as_str()),
        ("GITHUB_TOKEN_URL", token.as_str()),
        ("GITHUB_API_URL", api.as_str()),
        ("AUTH_REDIRECT_URLS", TARGET),
    ];
    if trusted {
        vars.push(("SOCIAL_TRUSTED_PROVIDERS", "github"));
    }
    (spawn_app_with(&vars).await, op)
}

fn start_url(app: &TestApp) -> String {
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(VERIFIER.as_bytes()));
    format!(
        "{}/auth/github/start?redirect_to={TARGET}&code_challenge={challenge}&code_challenge_method=S256",
        app.base
    )
}

/// One browser sign-in as GitHub user `id` with `emails`: the exchange code.
async fn sign_in(app: &TestApp, op: &Op, id: u64, emails: Value) -> String {
    op.next(
        &id.to_string(),
        json!({ "login": format!("octo{id}"), "emails": emails }),
    )
    .await;
    let landed = op.browse(&start_url(app)).await.expect("back at the app");
    assert!(landed.as_str().starts_with(TARGET), "{landed}");
    landed
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap_or_else(|| panic!("no code in {landed}"))
        .1
        .into_owned()
}

/// A browser that does not follow redirects, and where `start` sent it.
async fn started(app: &TestApp) -> (reqwest::Client, url::Url) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client.get(start_url(app)).send().await.unwrap();
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    (client, location)
}

fn code_of(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn a_github_user_signs_up_by_the_primary_verified_email_and_comes_back_by_id() {
    let (app, op) = spawn(true).await;
    let (_, body) = app
        .gql(
            "{ socialProviders { name displayName startUrl } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["socialProviders"][0]["name"], "github",
        "{body}"
    );
    assert_eq!(body["data"]["socialProviders"][0]["displayName"], "GitHub");

    // What start sends GitHub: our client, PKCE, the scopes, no nonce.
    let (_, location) = started(&app).await;
    let params: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(params["client_id"], "gh");
    assert_eq!(params["scope"], "read:user user:email");
    assert_eq!(params["code_challenge_method"], "S256");
    assert!(!params.contains_key("nonce"), "{location}");

    let emails = json!([
        { "email": "old@example.com", "primary": false, "verified": true },
        { "email": "octo@example.com", "primary": true, "verified": true },
    ]);
    let code = sign_in(&app, &op, 4242, emails.clone()).await;
    let body = exchange(&app, &code).await;
    let payload = &body["data"]["exchangeSocialCode"];
    assert_eq!(payload["__typename"], "AuthPayload", "{body}");
    assert_eq!(payload["user"]["email"], "octo@example.com");
    let token = format!("Bearer {}", payload["accessToken"].as_str().unwrap());
    let (_, body) = app
        .gql_as(
            Some(&token),
            "{ me { emailVerified } identities { provider issuer subject email emailVerified } }",
            json!({}),
        )
        .await;
    let identity = &body["data"]["identities"][0];
    assert_eq!(identity["provider"], "github", "{body}");
    assert_eq!(identity["issuer"], op.issuer.as_str());
    assert_eq!(identity["subject"], "4242");
    assert_eq!(identity["emailVerified"], true);
    assert_eq!(body["data"]["me"]["emailVerified"], true);

    // The same GitHub user with another primary address: the same account.
    let moved = json!([{ "email": "new@example.com", "primary": true, "verified": false }]);
    let code = sign_in(&app, &op, 4242, moved).await;
    let body = exchange(&app, &code).await;
    assert_eq!(
        body["data"]["exchangeSocialCode"]["user"]["email"], "octo@example.com",
        "{body}"
    );
}

#[tokio::test]
async fn only_the_primary_entry_vouches_for_an_email() {
    let (app, op) = spawn(true).await;
    app.signed_in_user("victim@example.com").await;
    // The victim's address verified but not primary; an unverified primary
    // naming the victim: neither links nor creates.
    for emails in [
        json!([
            { "email": "mine@example.com", "primary": true, "verified": false },
            { "email": "victim@example.com", "primary": false, "verified": true },
        ]),
        json!([{ "email": "victim@example.com", "primary": true, "verified": false }]),
        json!([]),
    ] {
        let code = sign_in(&app, &op, 666, emails.clone()).await;
        assert_eq!(
            code_of(&exchange(&app, &code).await),
            "IDENTITY_EMAIL_UNVERIFIED",
            "{emails}"
        );
    }
}

#[tokio::test]
async fn an_untrusted_github_links_nothing_by_email_and_has_no_id_tokens() {
    let (app, op) = spawn(false).await;
    app.signed_in_user("victim@example.com").await;
    let emails = json!([{ "email": "victim@example.com", "primary": true, "verified": true }]);
    let code = sign_in(&app, &op, 7, emails).await;
    assert_eq!(
        code_of(&exchange(&app, &code).await),
        "IDENTITY_LINK_REQUIRED"
    );
    let (_, body) = app
        .gql(
            "mutation { signInWithIdToken(provider: \"github\", idToken: \"x.y.z\", nonce: \"n\") { __typename } }",
            json!({}),
        )
        .await;
    assert_eq!(code_of(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn a_refused_token_request_sends_the_app_an_error_and_no_code() {
    let (app, op) = spawn(true).await;
    op.next("9", json!({ "emails": [] })).await;
    // The browser returns with a code GitHub never issued: the exchange
    // fails, the app gets `invalid_response`, and the state is used up.
    let (client, location) = started(&app).await;
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let callback = format!(
        "{}/auth/github/callback?code=made-up&state={state}",
        app.base
    );
    let resp = client.get(&callback).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let back = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(TARGET) && back.contains("error=invalid_response"),
        "{back}"
    );
    assert!(!back.contains("code="), "{back}");
    let again = client.get(&callback).send().await.unwrap();
    assert_eq!(again.status(), 400, "a state is used once");
}
