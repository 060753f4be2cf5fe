//! Access tokens, refresh rotation and reuse detection, logout and
//! revocation: what a credential is worth on the next request.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, code, spawn_app, spawn_app_with};

const REFRESH: &str = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken tokenType expiresIn user { id } } }";
const ME: &str = "{ me { id email } }";

#[tokio::test]
async fn the_access_token_carries_its_claims_and_lifetime() {
    let app = spawn_app_with(&[("ACCESS_TOKEN_TTL", "2m")]).await;
    let user = app.signed_in_user("claims@example.com").await;
    let payload = user.access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["typ"], "access");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    assert!(claims["sid"].is_string() && claims["jti"].is_string());
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(user.access_token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "HS256");
    let (_, body) = app.gql_as(Some(&user.bearer()), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["email"], "claims@example.com");
}

#[tokio::test]
async fn forged_tampered_and_expired_tokens_fail_the_request_with_401() {
    let app = spawn_app_with(&[("ACCESS_TOKEN_TTL", "1s")]).await;
    let user = app.signed_in_user("forged@example.com").await;
    let parts: Vec<&str> = user.access_token.split('.').collect();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["exp"] = json!(claims["exp"].as_i64().unwrap() + 3600);
    let tampered_claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let foreign = {
        use hmac::{Hmac, Mac};
        let signing_input = format!("{}.{}", parts[0], tampered_claims);
        let mut mac =
            <Hmac<sha2::Sha256> as Mac>::new_from_slice(b"some other key, not the server's key")
                .unwrap();
        mac.update(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    };
    for token in [
        format!("{none_header}.{}.", parts[1]),
        format!("{}.{}.{}", parts[0], tampered_claims, parts[2]),
        foreign,
        "not.a.jwt".to_owned(),
    ] {
        let (status, body) = app
            .gql_as(
                Some(&format!("Bearer {token}")),
                "{ __typename }",
                json!({}),
            )
            .await;
        assert_eq!(status, 401, "{token}");
        assert_eq!(code(&body), "UNAUTHENTICATED");
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, _) = app.gql_as(Some(&user.bearer()), ME, json!({})).await;
    assert_eq!(status, 401, "expired");
    // The anonymous auth mutations ignore the stale header: refreshing works.
    let (status, body) = app
        .gql_as(
            Some(&user.bearer()),
            REFRESH,
            json!({ "t": user.refresh_token }),
        )
        .await;
    assert_eq!(status, 200);
    let fresh = body["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap();
    let (status, body) = app
        .gql_as(Some(&format!("Bearer {fresh}")), ME, json!({}))
        .await;
    assert_eq!(
        (status, body["data"]["me"]["email"].clone()),
        (200, json!("forged@example.com"))
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_session() {
    let app = spawn_app().await;
    let user = app.signed_in_user("rotate@example.com").await;
    let (_, body) = app.gql(REFRESH, json!({ "t": user.refresh_token })).await;
    let second = body["data"]["refreshToken"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let access = body["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, user.refresh_token);
    let (_, body) = app.gql(REFRESH, json!({ "t": user.refresh_token })).await;
    assert_eq!(code(&body), "INVALID_TOKEN", "a used token");
    let (_, body) = app.gql(REFRESH, json!({ "t": second })).await;
    assert_eq!(
        code(&body),
        "INVALID_TOKEN",
        "the session was revoked on reuse"
    );
    let (status, _) = app
        .gql_as(Some(&format!("Bearer {access}")), ME, json!({}))
        .await;
    assert_eq!(status, 401);
    let (_, body) = app.gql(REFRESH, json!({ "t": "made-up" })).await;
    assert_eq!(code(&body), "INVALID_TOKEN");
}

#[tokio::test]
async fn of_twenty_parallel_refreshes_with_one_token_exactly_one_succeeds() {
    let app = spawn_app().await;
    let user = app.signed_in_user("race@example.com").await;
    let body = json!({ "query": REFRESH, "variables": { "t": user.refresh_token } });
    let mut ok = 0;
    for body in app.concurrently(vec![(app.base.clone(), body); 20]).await {
        if body["data"]["refreshToken"].is_object() {
            ok += 1;
        } else {
            assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn logout_and_revoke_session_take_effect_on_the_next_request() {
    let app = spawn_app().await;
    let first = app.signed_in_user("sessions@example.com").await;
    let login_again = || async {
        let body = app.login("sessions@example.com", PASSWORD).await;
        format!(
            "Bearer {}",
            body["data"]["login"]["accessToken"].as_str().unwrap()
        )
    };
    let second = login_again().await;
    let third = login_again().await;
    let (_, body) = app
        .gql_as(
            Some(&first.bearer()),
            "{ sessions { id current createdAt lastUsedAt expiresAt userAgent ip } }",
            json!({}),
        )
        .await;
    let sessions = body["data"]["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(sessions[0]["ip"], "127.0.0.1");
    // Revoke the newest (third) from the first.
    let newest = sessions[0]["id"].as_str().unwrap().to_owned();
    let (_, body) = app
        .gql_as(
            Some(&first.bearer()),
            "mutation($id: ID!) { revokeSession(id: $id) }",
            json!({ "id": newest }),
        )
        .await;
    assert_eq!(body["data"]["revokeSession"], true, "{body}");
    assert_eq!(app.gql_as(Some(&third), ME, json!({})).await.0, 401);
    // Someone else's session, a missing one, a malformed id.
    let stranger = app.signed_in_user("stranger@example.com").await;
    let own_id = sessions[1]["id"].as_str().unwrap();
    let (_, body) = app
        .gql_as(
            Some(&stranger.bearer()),
            "mutation($id: ID!) { revokeSession(id: $id) }",
            json!({ "id": own_id }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let (_, body) = app
        .gql_as(
            Some(&stranger.bearer()),
            "mutation { revokeSession(id: \"nope\") }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    // Logout of this session only.
    let (_, body) = app
        .gql_as(Some(&second), "mutation { logout }", json!({}))
        .await;
    assert_eq!(body["data"]["logout"], true);
    assert_eq!(app.gql_as(Some(&second), ME, json!({})).await.0, 401);
    assert_eq!(
        app.gql_as(Some(&first.bearer()), ME, json!({})).await.0,
        200
    );
    // Logout everywhere.
    let fourth = login_again().await;
    let (_, body) = app
        .gql_as(
            Some(&first.bearer()),
            "mutation { logout(allSessions: true) }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["logout"], true);
    assert_eq!(
        app.gql_as(Some(&first.bearer()), ME, json!({})).await.0,
        401
    );
    assert_eq!(app.gql_as(Some(&fourth), ME, json!({})).await.0, 401);
    let (_, body) = app.gql(REFRESH, json!({ "t": first.refresh_token })).await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    // Logout needs a user.
    let (_, body) = app.gql("mutation { logout }", json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn api_tokens_authenticate_with_the_token_scheme_and_can_be_revoked() {
    let app = spawn_app().await;
    let user = app.signed_in_user("api@example.com").await;
    const CREATE: &str = "mutation($n: String!, $d: Int) { createApiToken(name: $n, expiresInDays: $d) { token apiToken { id name prefix createdAt lastUsedAt expiresAt } } }";
    let (_, body) = app
        .gql_as(Some(&user.bearer()), CREATE, json!({ "n": "ci", "d": 30 }))
        .await;
    let created = &body["data"]["createApiToken"];
    let token = created["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert!(token.starts_with("aql_"));
    assert!(token.starts_with(created["apiToken"]["prefix"].as_str().unwrap()));
    assert!(created["apiToken"]["expiresAt"].is_string());
    let auth = format!("Token {token}");
    let (status, body) = app.gql_as(Some(&auth), ME, json!({})).await;
    assert_eq!(
        (status, body["data"]["me"]["email"].clone()),
        (200, json!("api@example.com"))
    );
    // Listed, without the secret.
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "{ apiTokens { id name prefix lastUsedAt } }",
            json!({}),
        )
        .await;
    let listed = body["data"]["apiTokens"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert!(!body.to_string().contains(&token));
    // An API token cannot mint another.
    let (_, body) = app.gql_as(Some(&auth), CREATE, json!({ "n": "x" })).await;
    assert_eq!(code(&body), "FORBIDDEN");
    // Bad input.
    for (n, d) in [("", json!(null)), ("ok", json!(0)), ("ok", json!(100_000))] {
        let (_, body) = app
            .gql_as(Some(&user.bearer()), CREATE, json!({ "n": n, "d": d }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
    // Logout with an API token revokes that token.
    let (_, body) = app
        .gql_as(Some(&auth), "mutation { logout }", json!({}))
        .await;
    assert_eq!(body["data"]["logout"], true);
    assert_eq!(app.gql_as(Some(&auth), ME, json!({})).await.0, 401);
    // revokeApiToken, and another's is NOT_FOUND.
    let (_, body) = app
        .gql_as(Some(&user.bearer()), CREATE, json!({ "n": "second" }))
        .await;
    let second = body["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = body["data"]["createApiToken"]["apiToken"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(body["data"]["createApiToken"]["apiToken"]["expiresAt"].is_null());
    let stranger = app.signed_in_user("api-stranger@example.com").await;
    let revoke = "mutation($id: ID!) { revokeApiToken(id: $id) }";
    let (_, body) = app
        .gql_as(Some(&stranger.bearer()), revoke, json!({ "id": id }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let (_, body) = app
        .gql_as(Some(&user.bearer()), revoke, json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["revokeApiToken"], true);
    assert_eq!(
        app.gql_as(Some(&format!("Token {second}")), ME, json!({}))
            .await
            .0,
        401
    );
    // An expired token stops working.
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            CREATE,
            json!({ "n": "expiring", "d": 1 }),
        )
        .await;
    let third = body["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let third_id = body["data"]["createApiToken"]["apiToken"]["id"]
        .as_str()
        .unwrap()
        .parse::<uuid::Uuid>()
        .unwrap();
    assert_eq!(
        app.gql_as(Some(&format!("Token {third}")), ME, json!({}))
            .await
            .0,
        200
    );
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        entity::api_token::Entity::update_many()
            .col_expr(
                entity::api_token::Column::ExpiresAt,
                Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
            )
            .filter(entity::api_token::Column::Id.eq(third_id))
            .exec(&app.db_conn().await)
            .await
            .unwrap();
    }
    assert_eq!(
        app.gql_as(Some(&format!("Token {third}")), ME, json!({}))
            .await
            .0,
        401
    );
    assert_eq!(
        app.gql_as(Some("Token aql_made_up"), ME, json!({})).await.0,
        401
    );
}
