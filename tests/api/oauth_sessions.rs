//! The provider's sessions (API.md §9.3): refresh reuse, a password reset
//! and the provider's tokens, headless decisions, and the provider off.

use serde_json::json;

use crate::helpers::mail;
use crate::helpers::oauth::{
    Browser, REDIRECT, Signed, authorize_path, client, exchange, introspect, pkce, provider_app,
    provider_app_with_key, provider_key, provider_vars, query_of, signed_code, token, userinfo,
};
use crate::helpers::users::code as error_code;
use crate::helpers::{spawn_app, spawn_process};

#[tokio::test]
async fn refresh_reuse_ends_the_session_and_introspection_sees_it() {
    let app = provider_app(&[]).await;
    let mut browser = Browser::new(&app);
    let Signed {
        id,
        secret,
        verifier,
        challenge: _,
        code,
    } = signed_code(&mut browser, true).await;
    let (_, tokens) = exchange(&app, (&id, &secret), &code, &verifier).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let refresh = |t: String| {
        let app = &app;
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            token(
                app,
                &[("grant_type", "refresh_token"), ("refresh_token", &t)],
                Some((&id, &secret)),
            )
            .await
        }
    };
    let (status, next) = refresh(first.to_owned()).await;
    assert_eq!(status, 200, "{next}");
    let access = next["access_token"].as_str().unwrap();
    let active = introspect(&app, (&id, &secret), access).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["client_id"], id.as_str());
    // The rotated token again: the whole session ends.
    let (status, reused) = refresh(first.to_owned()).await;
    assert_eq!(
        (status, reused["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        introspect(&app, (&id, &secret), access).await,
        json!({"active": false})
    );
    let (status, _) = refresh(next["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_password_reset_ends_the_providers_tokens() {
    let app = provider_app(&[]).await;
    let mut browser = Browser::new(&app);
    let Signed {
        id,
        secret,
        verifier,
        challenge,
        code,
    } = signed_code(&mut browser, true).await;
    let (_, tokens) = exchange(&app, (&id, &secret), &code, &verifier).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&app, access).await.0, 200);
    app.gql(
        "mutation { requestPasswordReset(email: \"alice@example.com\") }",
        json!({}),
    )
    .await;
    let mails = mail::wait_for(&app.mail_dir, "alice@example.com", 2).await;
    let (uid, t) = mails.last().unwrap().link("reset-password");
    let (_, body) = app
        .gql(
            "mutation($u: String!, $t: String!, $p: String!) { resetPassword(uid: $u, token: $t, newPassword: $p, confirmPassword: $p) }",
            json!({ "u": uid, "t": t, "p": "a completely different secret 93" }),
        )
        .await;
    assert_eq!(body["data"]["resetPassword"], true, "{body}");
    assert_eq!(userinfo(&app, access).await.0, 401);
    assert_eq!(
        introspect(&app, (&id, &secret), access).await["active"],
        false
    );
    let (status, _) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(status, 400);
    // The browser session ended too: the next authorization asks to sign in.
    let a = browser.get(&authorize_path(&id, &challenge, &[])).await;
    assert!(a.location.unwrap().contains("/oauth/login"));
}

#[tokio::test]
async fn headless_mode_decides_over_graphql() {
    let app = provider_app(&[("OAUTH_LOGIN_URL", "https://app.example/sign-in")]).await;
    let staff = app.staff_user("staff@example.com").await;
    let alice = app.signed_in_user("alice@example.com").await;
    let (id, _) = client(&app, &staff, true, false).await;
    let (verifier, challenge) = pkce();
    let mut browser = Browser::new(&app);
    let a = browser.get(&authorize_path(&id, &challenge, &[])).await;
    let to = a.location.unwrap();
    assert!(
        to.starts_with("https://app.example/sign-in?authorization_id="),
        "{to}"
    );
    assert_eq!(browser.get("/oauth/login").await.status, 404);
    let authz = query_of(&to)["authorization_id"].clone();
    let (_, body) = app
        .gql_as(
            Some(&alice.bearer()),
            "query($i: ID!) { oauthAuthorization(id: $i) { client { name } scopes consentRequired } }",
            json!({"i": authz}),
        )
        .await;
    assert_eq!(
        body["data"]["oauthAuthorization"]["consentRequired"], true,
        "{body}"
    );
    let api = app.api_token(&alice.bearer()).await;
    let (_, body) = app
        .gql_as(
            Some(&api),
            "mutation($i: ID!) { decideOAuthAuthorization(id: $i, approve: true) { redirectTo } }",
            json!({"i": authz}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app
        .gql_as(
            Some(&alice.bearer()),
            "mutation($i: ID!) { decideOAuthAuthorization(id: $i, approve: true, scopes: [\"email\"]) { redirectTo } }",
            json!({"i": authz}),
        )
        .await;
    let to = body["data"]["decideOAuthAuthorization"]["redirectTo"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    let code = query_of(to)["code"].clone();
    let (status, tokens) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid email");
    assert!(tokens.get("refresh_token").is_none());
    // Decided: gone.
    let (_, body) = app
        .gql_as(
            Some(&alice.bearer()),
            "query($i: ID!) { oauthAuthorization(id: $i) { scopes } }",
            json!({"i": authz}),
        )
        .await;
    assert!(body["data"]["oauthAuthorization"].is_null(), "{body}");
}

#[tokio::test]
async fn the_provider_is_off_by_default() {
    let app = spawn_app().await;
    for path in [
        "/oauth/authorize",
        "/oauth/login",
        "/oauth/token",
        "/oauth/userinfo",
        "/.well-known/oauth-authorization-server",
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
    }
    let doc: serde_json::Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc.get("authorization_endpoint").is_none(), "{doc}");
}

/// Codes, sessions and revocations live in the database: a code issued by
/// one instance is redeemed on another, whose tokens die when the first
/// revokes them.
#[tokio::test]
async fn a_second_instance_redeems_a_code_and_honours_a_revocation() {
    let key = provider_key();
    let app = provider_app_with_key(&key, &[]).await;
    let vars = provider_vars(&key);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let second = spawn_process(&app.db.url, &app.mail_dir, &vars).await;
    let mut browser = Browser::new(&app);
    let Signed {
        id,
        secret,
        verifier,
        challenge: _,
        code,
    } = signed_code(&mut browser, true).await;
    let resp = app
        .client
        .post(format!("{}/oauth/token", second.base))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let tokens: serde_json::Value = resp.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let on_second = |token: String| {
        let client = app.client.clone();
        let url = format!("{}/oauth/userinfo", second.base);
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(on_second(access.to_owned()).await, 200);
    // Revoked on the first instance: dead on the second at once.
    let resp = app
        .client
        .post(app.url("/oauth/revoke"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(on_second(access.to_owned()).await, 401);
    assert!(second.terminate().success());
}
