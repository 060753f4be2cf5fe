//! Attacks on the provider found by review (API.md §9.3, SECURITY.md):
//! codes outliving the revocation of what approved them, `prompt=login`
//! skipped by going straight to the consent page, rows stored for nothing,
//! forms refused by CORS, and a narrowed client still refreshing wide.

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::helpers::oauth::{
    Browser, REDIRECT, Signed, authorize_path, client, code_for, exchange, field, pkce,
    post_sign_in, provider_app, public_client, query_of, signed_code, token,
};
use crate::helpers::users::PASSWORD;

#[tokio::test]
async fn a_code_approved_before_the_user_signed_out_everywhere_is_dead() {
    let app = provider_app(&[]).await;
    let mut browser = Browser::new(&app);
    let Signed {
        id,
        secret,
        verifier,
        challenge: _,
        code,
    } = signed_code(&mut browser, true).await;
    let alice = app.login("alice@example.com", PASSWORD).await;
    let t = alice["data"]["login"]["accessToken"].as_str().unwrap();
    let (_, out) = app
        .gql_as(
            Some(&format!("Bearer {t}")),
            "mutation { logout(allSessions: true) }",
            json!({}),
        )
        .await;
    assert_eq!(out["data"]["logout"], true, "{out}");
    let (status, body) = exchange(&app, (&id, &secret), &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test]
async fn prompt_login_cannot_be_skipped_by_going_to_the_consent_page() {
    let app = provider_app(&[]).await;
    let (id, challenge) = public_client(&app, false).await;
    let mut browser = Browser::new(&app);
    code_for(&mut browser, &id, "alice@example.com", &challenge).await;
    // A fresh sign-in is asked for…
    let a = browser
        .get(&authorize_path(
            &id,
            &challenge,
            &[("prompt", "login consent")],
        ))
        .await;
    let to = Browser::path_of(a.location.as_deref().unwrap());
    assert!(to.starts_with("/oauth/login"), "{to}");
    let authz = query_of(&format!("http://x{to}"))["authorization_id"].clone();
    // …and the consent page, reached directly, does not give a code.
    let page = browser
        .get(&format!("/oauth/consent?authorization_id={authz}"))
        .await;
    if page.status == 200 {
        let csrf = field(&page.body, "csrf_token");
        let done = browser
            .post(
                "/oauth/consent",
                &[
                    ("decision", "approve"),
                    ("authorization_id", &authz),
                    ("csrf_token", &csrf),
                ],
                None,
            )
            .await;
        let to = done.location.unwrap_or_default();
        assert!(!to.contains("code="), "{to}");
    } else {
        assert_eq!(page.status, 303);
        assert!(page.location.unwrap().contains("/oauth/login"));
    }
}

#[tokio::test]
async fn prompt_none_without_a_session_stores_nothing() {
    let app = provider_app(&[]).await;
    let staff = app.staff_user("staff@example.com").await;
    let (id, _) = client(&app, &staff, true, false).await;
    let (_, challenge) = pkce();
    let mut browser = Browser::new(&app);
    for _ in 0..5 {
        let a = browser
            .get(&authorize_path(&id, &challenge, &[("prompt", "none")]))
            .await;
        let q = query_of(a.location.as_deref().unwrap());
        assert_eq!(q["error"], "login_required");
    }
    let rows = entity::oauth_authorization::Entity::find()
        .count(&app.db_conn().await)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn the_pages_forms_work_with_cors_origins_set() {
    let app = provider_app(&[("CORS_ORIGINS", "https://spa.example")]).await;
    let (id, challenge) = public_client(&app, true).await;
    let mut browser = Browser::new(&app);
    let a = browser.get(&authorize_path(&id, &challenge, &[])).await;
    // Forms of a no-referrer page are posted with `Origin: null`.
    let (_, done) = post_sign_in(&mut browser, &a, Some("null")).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location.unwrap().starts_with(REDIRECT));
}

#[tokio::test]
async fn a_narrowed_client_refreshes_only_what_it_may_still_ask() {
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
    let staff = app.login("staff@example.com", PASSWORD).await;
    let t = staff["data"]["login"]["accessToken"].as_str().unwrap();
    let (_, out) = app
        .gql_as(
            Some(&format!("Bearer {t}")),
            "mutation($id: ID!) { updateOAuthClient(id: $id, input: { allowedScopes: [\"openid\", \"offline_access\"] }) { allowedScopes } }",
            json!({"id": id}),
        )
        .await;
    assert!(out["errors"].is_null(), "{out}");
    let (status, next) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["scope"], "openid offline_access");
}

#[tokio::test]
async fn registration_is_not_found_while_it_is_off() {
    let app = provider_app(&[]).await;
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let resp = app
            .client
            .request(method.clone(), app.url("/oauth/register"))
            .json(&json!({"redirect_uris": ["https://x.example/cb"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{method}");
    }
}
