//! Social sign-in (API.md §9.1) against a real OpenID provider on loopback
//! (npm `oidc-provider`): the browser flow with server-side state, nonce and
//! PKCE; the exchange code; the account rules, including that an untrusted
//! provider or an unverified email neither creates nor links by email; and
//! tampered or replayed states and codes.

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::op::Op;
use crate::helpers::{PASSWORD, TestApp, mail, spawn_app_with};

pub(crate) const TARGET: &str = "https://app.example.com/cb";
const EXCHANGE: &str = "mutation($c: String!, $v: String) { exchangeSocialCode(code: $c, codeVerifier: $v) { __typename ... on AuthPayload { accessToken user { id email } } } }";
pub(crate) const VERIFIER: &str = "a-verifier-of-the-app-that-is-long-enough-0123456789";

fn challenge() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

/// An app whose provider `test` is the loopback `Op`, trusted unless said.
pub(crate) async fn spawn(trusted: bool, extra: &[(&str, &str)]) -> (TestApp, Op) {
    spawn_with_op(trusted, extra, &[]).await
}

/// `spawn`, with settings of the provider script.
pub(crate) async fn spawn_with_op(
    trusted: bool,
    extra: &[(&str, &str)],
    op_env: &[(&str, &str)],
) -> (TestApp, Op) {
    // The callback URL is PUBLIC_URL's, known only once the app has a port:
    // the provider takes any URI under the app's (registered after start).
    let port = crate::helpers::free_port();
    let public = format!("http://127.0.0.1:{port}");
    let op = Op::start_with(&format!("{public}/auth/test/callback"), op_env);
    let mut vars = extra.to_vec();
    if trusted {
        vars.push(("SOCIAL_TRUSTED_PROVIDERS", "test"));
    }
    let app = app_for(&op, port, &vars).await;
    (app, op)
}

/// An app on `port` whose provider `test` (`Test ID`, client `authql`) is
/// `op`, with `extra` settings.
pub(crate) async fn app_for(op: &Op, port: u16, extra: &[(&str, &str)]) -> TestApp {
    let bind = format!("127.0.0.1:{port}");
    let public = format!("http://127.0.0.1:{port}");
    let mut vars = vec![
        ("BIND_ADDR", bind.as_str()),
        ("PUBLIC_URL", public.as_str()),
        ("OIDC_PROVIDERS", "test"),
        ("OIDC_TEST_ISSUER", op.issuer.as_str()),
        ("OIDC_TEST_CLIENT_ID", "authql"),
        ("OIDC_TEST_CLIENT_SECRET", "s3cret"),
        ("OIDC_TEST_DISPLAY_NAME", "Test ID"),
        ("AUTH_REDIRECT_URLS", TARGET),
    ];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

pub(crate) fn start_url(app: &TestApp) -> String {
    format!(
        "{}/auth/test/start?redirect_to={TARGET}&code_challenge={}&code_challenge_method=S256",
        app.base,
        challenge()
    )
}

/// One browser sign-in as `sub` with `claims`: the exchange code.
pub(crate) async fn sign_in(app: &TestApp, op: &Op, sub: &str, claims: Value) -> String {
    op.next(sub, claims).await;
    let landed = op
        .browse(&start_url(app))
        .await
        .expect("the flow ends at the app");
    assert!(landed.as_str().starts_with(TARGET), "{landed}");
    landed
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap_or_else(|| panic!("no code in {landed}"))
        .1
        .into_owned()
}

pub(crate) async fn exchange(app: &TestApp, code: &str) -> Value {
    app.gql(EXCHANGE, json!({ "c": code, "v": VERIFIER }))
        .await
        .1
}

pub(crate) fn verified(email: &str) -> Value {
    json!({ "email": email, "email_verified": true, "given_name": "Ann", "family_name": "Lee" })
}

#[tokio::test]
async fn a_verified_email_from_a_trusted_provider_makes_an_account_and_signs_in_again() {
    let (app, op) = spawn(true, &[]).await;
    let (_, body) = app
        .gql(
            "{ socialProviders { name displayName startUrl } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["socialProviders"][0]["displayName"], "Test ID",
        "{body}"
    );
    let code = sign_in(&app, &op, "ann-1", verified("ann@example.com")).await;
    let body = exchange(&app, &code).await;
    let first = &body["data"]["exchangeSocialCode"];
    assert_eq!(first["__typename"], "AuthPayload", "{body}");
    assert_eq!(first["user"]["email"], "ann@example.com");
    let token = format!("Bearer {}", first["accessToken"].as_str().unwrap());
    let (_, body) = app
        .gql_as(Some(&token), "{ me { emailVerified firstName } identities { provider subject email emailVerified lastUsedAt } }", json!({}))
        .await;
    assert_eq!(body["data"]["me"]["emailVerified"], true, "{body}");
    assert_eq!(body["data"]["me"]["firstName"], "Ann");
    assert_eq!(body["data"]["identities"][0]["subject"], "ann-1");
    // The code is used up; a password does not sign in to this account.
    assert_eq!(code_of(&exchange(&app, &code).await), "INVALID_TOKEN");
    assert_eq!(
        code_of(&app.login("ann@example.com", PASSWORD).await),
        "INVALID_CREDENTIALS"
    );
    // The same identity signs in to the same account, even after its
    // email changed at the provider.
    let again = sign_in(
        &app,
        &op,
        "ann-1",
        json!({ "email": "other@example.com", "email_verified": false }),
    )
    .await;
    let body = exchange(&app, &again).await;
    assert_eq!(
        body["data"]["exchangeSocialCode"]["user"]["id"], first["user"]["id"],
        "{body}"
    );
    // Its only way in cannot be unlinked.
    let (_, ids) = app
        .gql_as(Some(&token), "{ identities { id } }", json!({}))
        .await;
    let id = ids["data"]["identities"][0]["id"].clone();
    let (_, body) = app
        .gql_as(
            Some(&token),
            "mutation($id: ID!) { unlinkIdentity(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code_of(&body), "FORBIDDEN", "{body}");
}

fn code_of(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn untrusted_providers_and_unverified_emails_neither_create_nor_link() {
    let (app, op) = spawn(false, &[]).await;
    app.signed_in_user("victim@example.com").await;
    let code = sign_in(&app, &op, "evil-1", verified("victim@example.com")).await;
    assert_eq!(
        code_of(&exchange(&app, &code).await),
        "IDENTITY_LINK_REQUIRED"
    );

    let (app, op) = spawn(true, &[]).await;
    app.signed_in_user("victim@example.com").await;
    for email in ["victim@example.com", "nobody@example.com"] {
        let code = sign_in(
            &app,
            &op,
            "evil-2",
            json!({ "email": email, "email_verified": false }),
        )
        .await;
        assert_eq!(
            code_of(&exchange(&app, &code).await),
            "IDENTITY_EMAIL_UNVERIFIED",
            "{email}"
        );
    }
    let (_, body) = app
        .gql("mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { __typename } }", json!({ "e": "nobody@example.com", "p": PASSWORD }))
        .await;
    assert_eq!(
        code_of(&body),
        "INVALID_CREDENTIALS",
        "no account was made: {body}"
    );
}

#[tokio::test]
async fn a_verified_email_links_only_to_a_verified_account() {
    let (app, op) = spawn(true, &[("REQUIRE_ACTIVATION", "false")]).await;
    // Registered without activation: nobody proved the address.
    app.register("squatted@example.com", PASSWORD).await;
    let code = sign_in(&app, &op, "owner-1", verified("squatted@example.com")).await;
    assert_eq!(
        code_of(&exchange(&app, &code).await),
        "IDENTITY_LINK_REQUIRED"
    );

    let (app, op) = spawn(true, &[]).await;
    let user = app.signed_in_user("owner@example.com").await;
    let code = sign_in(&app, &op, "owner-2", verified("owner@example.com")).await;
    let body = exchange(&app, &code).await;
    assert_eq!(
        body["data"]["exchangeSocialCode"]["user"]["id"],
        user.id.as_str(),
        "{body}"
    );
    let notices = mail::wait_for(&app.mail_dir, "owner@example.com", 2).await;
    assert!(notices[1].text.contains("Test ID"), "{}", notices[1].text);
    // A second identity of the same provider with that address does not
    // inherit the account.
    let code = sign_in(&app, &op, "owner-3", verified("owner@example.com")).await;
    assert_eq!(
        code_of(&exchange(&app, &code).await),
        "IDENTITY_LINK_REQUIRED"
    );
}

#[tokio::test]
async fn states_codes_and_targets_are_checked() {
    let (app, op) = spawn(true, &[]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.unwrap() }
    };
    // A target outside AUTH_REDIRECT_URLS, a plain challenge, an unknown
    // provider: refused before anything is stored.
    let resp = get(format!(
        "{}/auth/test/start?redirect_to=https://evil.example/cb",
        app.base
    ))
    .await;
    assert_eq!(resp.status(), 400);
    let resp = get(format!(
        "{}/auth/test/start?code_challenge=abc&code_challenge_method=plain",
        app.base
    ))
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        get(format!("{}/auth/nope/start", app.base)).await.status(),
        404
    );
    // The start's redirect: our own challenge and nonce, no token of any kind.
    let resp = get(start_url(&app)).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let params: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(params["code_challenge_method"], "S256");
    assert_ne!(
        params["code_challenge"],
        challenge(),
        "the app's challenge is not the provider's"
    );
    assert!(params.contains_key("nonce") && params.contains_key("state"));
    // A made-up state, and a replayed one: 400, no redirect.
    let resp = get(format!(
        "{}/auth/test/callback?state=made-up&code=x",
        app.base
    ))
    .await;
    assert_eq!(resp.status(), 400);
    let state = &params["state"];
    let resp = get(format!(
        "{}/auth/test/callback?state={state}&error=access_denied",
        app.base
    ))
    .await;
    assert_eq!(resp.status(), 303);
    let back = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(TARGET) && back.contains("error=access_denied") && !back.contains("code="),
        "{back}"
    );
    let resp = get(format!(
        "{}/auth/test/callback?state={state}&code=x",
        app.base
    ))
    .await;
    assert_eq!(resp.status(), 400, "a used state");
    // No challenge, or one without its method (which means plain): a code
    // without the app's PKCE could be carried to another browser.
    for query in [
        format!("redirect_to={TARGET}"),
        format!("code_challenge={}", challenge()),
    ] {
        let resp = get(format!("{}/auth/test/start?{query}", app.base)).await;
        assert_eq!(resp.status(), 400, "{query}");
    }
    // Words of an attacker's own in the app's error, another issuer's
    // answer: only registered codes pass, with no description.
    for (extra, expected) in [
        (
            "error=%3Cb%3Ecall%20us%3C%2Fb%3E&error_description=call%20us",
            "error=invalid_response",
        ),
        (
            "error=access_denied&error_description=call%20us",
            "error=access_denied",
        ),
        (
            "code=x&iss=https%3A%2F%2Fevil.example",
            "error=invalid_response",
        ),
    ] {
        let resp = get(start_url(&app)).await;
        let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
        let state = location
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        let resp = get(format!(
            "{}/auth/test/callback?state={state}&{extra}",
            app.base
        ))
        .await;
        let back = resp.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            back.ends_with(expected) && !back.contains("call"),
            "{extra}: {back}"
        );
    }
    // A posted answer is read up to 16 KiB.
    let resp = client
        .post(format!("{}/auth/test/callback", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("state={}", "a".repeat(20_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // A forged code for a good state: invalid_response.
    op.next("x", verified("x@example.com")).await;
    let resp = get(start_url(&app)).await;
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let resp = get(format!(
        "{}/auth/test/callback?state={state}&code=forged",
        app.base
    ))
    .await;
    let back = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.contains("error=invalid_response") && !back.contains("code="),
        "{back}"
    );
    // A good code with a wrong verifier: INVALID_TOKEN, and it is used up.
    let code = sign_in(&app, &op, "pkce-1", verified("pkce@example.com")).await;
    let (_, body) = app
        .gql(EXCHANGE, json!({ "c": code, "v": format!("{VERIFIER}x") }))
        .await;
    assert_eq!(code_of(&body), "INVALID_TOKEN", "{body}");
    assert_eq!(code_of(&exchange(&app, &code).await), "INVALID_TOKEN");
}
