//! authql as an OAuth 2.1 / OpenID Connect provider (API.md §9.3), tested
//! as the attacks: codes and refresh tokens used twice, PKCE skipped or
//! downgraded, redirect URIs that only look registered, a wrong secret,
//! scopes widened, forms posted from elsewhere, and tokens outliving the
//! session, the password or the client.

use serde_json::json;

use crate::helpers::mail;
use crate::helpers::oauth::{
    Browser, REDIRECT, Signed, authorize_path, client, exchange, field, introspect, pkce,
    post_sign_in, provider_app, public_client, query_of, signed_code, token, userinfo,
};
use crate::helpers::users::code as error_code;

#[tokio::test]
async fn a_code_becomes_tokens_once_and_its_reuse_ends_them() {
    let app = provider_app(&[]).await;
    let mut browser = Browser::new(&app);
    let Signed {
        id,
        secret,
        verifier,
        challenge: _,
        code,
    } = signed_code(&mut browser, false).await;

    let (status, tokens) = exchange(&app, (&id, &secret), &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(
        tokens["id_token"].is_string() && tokens["refresh_token"].is_string(),
        "{tokens}"
    );
    let access = tokens["access_token"].as_str().unwrap();
    let (status, info) = userinfo(&app, access).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["email"], "alice@example.com");

    // The provider's access token is never a key to /graphql.
    let (_, me) = app
        .gql_as(
            Some(&format!("Bearer {access}")),
            "{ me { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&me), "UNAUTHENTICATED", "{me}");
    // Nor is its refresh token a way to first-party tokens.
    let (_, refreshed) = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({"t": tokens["refresh_token"]}),
        )
        .await;
    assert!(refreshed["data"]["refreshToken"].is_null(), "{refreshed}");

    // The same code again: refused, and what it minted is dead.
    let (status, again) = exchange(&app, (&id, &secret), &code, &verifier).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant")),
        "{again}"
    );
    assert_eq!(userinfo(&app, access).await.0, 401);
    assert_eq!(
        introspect(&app, (&id, &secret), access).await,
        json!({"active": false})
    );
    let (status, r) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(
        (status, r["error"].as_str()),
        (400, Some("invalid_grant")),
        "{r}"
    );
}

#[tokio::test]
async fn a_wrong_verifier_spends_the_code_and_plain_pkce_never_gets_one() {
    let app = provider_app(&[]).await;
    let mut browser = Browser::new(&app);
    let Signed {
        id,
        secret,
        verifier,
        challenge,
        code,
    } = signed_code(&mut browser, true).await;
    let (other, _) = pkce();
    let (status, body) = exchange(&app, (&id, &secret), &code, &other).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = exchange(&app, (&id, &secret), &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "spent: {body}"
    );

    // `plain` (or no method): an error at the client, never a code.
    let path = authorize_path(&id, &challenge, &[]).replace("S256", "plain");
    let a = browser.get(&path).await;
    assert_eq!(a.status, 303);
    let q = query_of(a.location.as_deref().unwrap());
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_request"));
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn unregistered_and_prefix_matched_redirect_uris_get_a_page_not_a_redirect() {
    let app = provider_app(&[]).await;
    let staff = app.staff_user("staff@example.com").await;
    let (id, _) = client(&app, &staff, true, false).await;
    let (_, challenge) = pkce();
    let mut browser = Browser::new(&app);
    for uri in [
        "https://evil.example/cb",
        "https://app.example/cb/../evil",
        "https://app.example/cbx",
        "https://app.example/cb?x=1",
        "https://app.example.evil.example/cb",
        "http://127.0.0.1.evil.example/loop",
    ] {
        let path = authorize_path(&id, &challenge, &[]).replace(
            &serde_urlencoded::to_string([("r", REDIRECT)]).unwrap()[2..],
            &serde_urlencoded::to_string([("r", uri)]).unwrap()[2..],
        );
        let a = browser.get(&path).await;
        assert_eq!(a.status, 400, "{uri}");
        assert!(a.location.is_none(), "{uri}");
        assert!(
            a.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
    // A registered loopback URI without a port matches any port (RFC 8252).
    let path = authorize_path(&id, &challenge, &[]).replace(
        &serde_urlencoded::to_string([("r", REDIRECT)]).unwrap()[2..],
        &serde_urlencoded::to_string([("r", "http://127.0.0.1:53123/loop")]).unwrap()[2..],
    );
    let a = browser.get(&path).await;
    assert_eq!(a.status, 303, "{}", a.body);
    // Unknown client: a page too.
    let a = browser
        .get(&authorize_path(
            &uuid::Uuid::new_v4().to_string(),
            &challenge,
            &[],
        ))
        .await;
    assert_eq!((a.status, a.location.is_none()), (400, true));
}

#[tokio::test]
async fn a_bad_secret_is_invalid_client_and_wider_scopes_are_refused() {
    let app = provider_app(&[]).await;
    let mut browser = Browser::new(&app);
    let Signed {
        id,
        secret,
        verifier,
        challenge,
        code,
    } = signed_code(&mut browser, true).await;
    let (status, body) = exchange(&app, (&id, "not-the-secret"), &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    // The code is untouched by a request whose client did not authenticate.
    let (status, tokens) = exchange(&app, (&id, &secret), &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");

    // A refresh cannot widen, only narrow.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "openid email admin"),
        ],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, narrow) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "email"),
        ],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(status, 200, "{narrow}");
    assert_eq!(narrow["scope"], "email");
    // A scope the client may not ask for: an error at the client.
    let a = browser
        .get(&authorize_path(&id, &challenge, &[]).replace("offline_access", "admin"))
        .await;
    assert_eq!(
        query_of(a.location.as_deref().unwrap())["error"],
        "invalid_scope"
    );
}

#[tokio::test]
async fn a_consent_form_posted_cross_site_changes_nothing() {
    let app = provider_app(&[]).await;
    let (id, challenge) = public_client(&app, false).await;
    let mut browser = Browser::new(&app);
    let a = browser.get(&authorize_path(&id, &challenge, &[])).await;
    let (authz, signed) = post_sign_in(&mut browser, &a, None).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let consent_path = Browser::path_of(signed.location.as_deref().unwrap());
    assert!(consent_path.starts_with("/oauth/consent"), "{consent_path}");
    let page = browser.get(&consent_path).await;
    let csrf = field(&page.body, "csrf_token");
    // From another site: refused whatever the token.
    let evil = browser
        .post(
            "/oauth/consent",
            &[
                ("decision", "approve"),
                ("authorization_id", &authz),
                ("csrf_token", &csrf),
            ],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(evil.status, 403);
    // Without the token: refused.
    let bare = browser
        .post(
            "/oauth/consent",
            &[("decision", "approve"), ("authorization_id", &authz)],
            None,
        )
        .await;
    assert_eq!(bare.status, 403);
    // The request is still usable by the real page.
    let ok = browser
        .post(
            "/oauth/consent",
            &[
                ("decision", "approve"),
                ("scope", "email"),
                ("authorization_id", &authz),
                ("csrf_token", &csrf),
            ],
            None,
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(query_of(ok.location.as_deref().unwrap()).contains_key("code"));
    // The grant is remembered and the user told.
    let alice = app
        .login("alice@example.com", crate::helpers::users::PASSWORD)
        .await;
    let t = alice["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, grants) = app
        .gql_as(
            Some(&format!("Bearer {t}")),
            "{ oauthGrants { id scopes client { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        grants["data"]["oauthGrants"][0]["scopes"],
        json!(["openid", "email"]),
        "{grants}"
    );
    mail::wait_for(&app.mail_dir, "alice@example.com", 2).await;
}
