//! Login, tokens, sessions, logout, API tokens, revocation and rate limits.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::users::LOGIN;
use crate::helpers::{PASSWORD, code, spawn_app, spawn_app_with, spawn_process};

const REFRESH: &str = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken tokenType expiresIn user { id } } }";
const ME: &str = "{ me { id email } }";

#[tokio::test]
async fn login_by_email_and_by_username() {
    let app = spawn_app().await;
    let user = app.signed_in_user("both@example.com").await;
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "mutation { updateProfile(input: { username: \"Both.User\" }) { username } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let (_, body) = app
        .gql(
            LOGIN,
            json!({ "input": { "username": "both.user", "password": PASSWORD } }),
        )
        .await;
    let payload = &body["data"]["login"];
    assert_eq!(payload["__typename"], "AuthPayload", "{body}");
    assert_eq!(payload["tokenType"], "Bearer");
    assert_eq!(payload["expiresIn"], 300);
    assert_eq!(payload["user"]["email"], "both@example.com");
    let (_, body) = app
        .gql(
            LOGIN,
            json!({ "input": { "email": " BOTH@example.COM ", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(body["data"]["login"]["__typename"], "AuthPayload", "{body}");
    // Exactly one identifier.
    for input in [
        json!({ "password": PASSWORD }),
        json!({ "email": "both@example.com", "username": "both.user", "password": PASSWORD }),
    ] {
        let (_, body) = app.gql(LOGIN, json!({ "input": input })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
}

#[tokio::test]
async fn unknown_account_and_wrong_password_answer_alike_in_about_the_same_time() {
    let app = spawn_app_with(&[("LOGIN_RATE_LIMIT", "1000/15m")]).await;
    app.activated_user("known@example.com").await;
    let attempt = |email: &'static str| {
        let app = &app;
        async move {
            let started = Instant::now();
            let body = app.login(email, "not the password at all").await;
            (started.elapsed(), body)
        }
    };
    let (_, wrong) = attempt("known@example.com").await;
    let (_, unknown) = attempt("unknown@example.com").await;
    assert_eq!(code(&wrong), "INVALID_CREDENTIALS");
    assert_eq!(
        wrong["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
    assert_eq!(
        wrong["errors"][0]["extensions"],
        unknown["errors"][0]["extensions"]
    );
    let (mut known_total, mut unknown_total) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..6 {
        known_total += attempt("known@example.com").await.0;
        unknown_total += attempt("unknown@example.com").await.0;
    }
    let ratio = known_total.as_secs_f64() / unknown_total.as_secs_f64();
    assert!(
        (0.33..3.0).contains(&ratio),
        "known {known_total:?} vs unknown {unknown_total:?}"
    );
}

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

#[tokio::test]
async fn failed_logins_are_rate_limited_per_identifier_then_lifted() {
    let app = spawn_app_with(&[("LOGIN_RATE_LIMIT", "3/2s")]).await;
    app.activated_user("limited@example.com").await;
    for _ in 0..3 {
        assert_eq!(
            code(&app.login("limited@example.com", "wrong password!!").await),
            "INVALID_CREDENTIALS"
        );
    }
    let body = app.login("limited@example.com", PASSWORD).await;
    assert_eq!(
        code(&body),
        "RATE_LIMITED",
        "even the right password is refused: {body}"
    );
    assert!(
        body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // An identifier with no account is limited the same way.
    for _ in 0..3 {
        app.login("ghost@example.com", "wrong password!!").await;
    }
    assert_eq!(
        code(&app.login("ghost@example.com", "wrong password!!").await),
        "RATE_LIMITED"
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let body = app.login("limited@example.com", PASSWORD).await;
    assert_eq!(body["data"]["login"]["__typename"], "AuthPayload", "{body}");
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_ip_across_identifiers() {
    let app = spawn_app_with(&[("LOGIN_RATE_LIMIT", "1/1h")]).await;
    // Per IP the limit is five times the per-identifier one.
    for i in 0..5 {
        assert_eq!(
            code(
                &app.login(&format!("u{i}@example.com"), "wrong password!!")
                    .await
            ),
            "INVALID_CREDENTIALS"
        );
    }
    assert_eq!(
        code(&app.login("u9@example.com", "wrong password!!").await),
        "RATE_LIMITED"
    );
}

#[tokio::test]
async fn a_request_may_hold_one_password_field() {
    let app = spawn_app().await;
    let q = r#"mutation { a: login(input: {email: "a@example.com", password: "x"}) { __typename } b: login(input: {email: "b@example.com", password: "y"}) { __typename } }"#;
    let (status, body) = app.gql(q, json!({})).await;
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"));
    let resp = app
        .post_raw(
            json!([{ "query": LOGIN, "variables": { "input": { "email": "a@example.com", "password": "x" } } }, { "query": "mutation { register(input: {email: \"b@example.com\", password: \"xxxxxxxxxx\", confirmPassword: \"xxxxxxxxxx\"}) { email } }" }]).to_string(),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(resp.status().as_u16(), 400);
}

#[tokio::test]
async fn two_instances_on_one_database_share_tokens_revocation_and_limits() {
    let app = spawn_app_with(&[("LOGIN_RATE_LIMIT", "3/1h")]).await;
    let other = spawn_process(&app.db.url, &app.mail_dir, &[("LOGIN_RATE_LIMIT", "3/1h")]).await;
    let user = app.signed_in_user("twice@example.com").await;
    let client = &app.client;
    let on_other = |auth: Option<String>, query: &'static str| {
        let req = client
            .post(format!("{}/graphql", other.base))
            .json(&json!({ "query": query }));
        let req = match auth {
            Some(a) => req.header("authorization", a),
            None => req,
        };
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = on_other(Some(user.bearer()), ME).await;
    assert_eq!(
        (status, body["data"]["me"]["email"].clone()),
        (200, json!("twice@example.com"))
    );
    let (_, body) = app
        .gql_as(Some(&user.bearer()), "mutation { logout }", json!({}))
        .await;
    assert_eq!(body["data"]["logout"], true);
    assert_eq!(
        on_other(Some(user.bearer()), ME).await.0,
        401,
        "the other instance sees the logout at once"
    );
    // Failures on one instance count on the other.
    for _ in 0..3 {
        app.login("twice@example.com", "wrong password!!").await;
    }
    let (_, body) = on_other(None, r#"mutation { login(input: {email: "twice@example.com", password: "a sturdy passphrase 42"}) { __typename } }"#).await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
}

#[tokio::test]
async fn expired_sessions_and_tokens_are_purged() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = spawn_app_with(&[("REFRESH_TOKEN_TTL", "1s")]).await;
    let user = app.signed_in_user("purge@example.com").await;
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "mutation { createApiToken(name: \"kept\") { token } }",
            json!({}),
        )
        .await;
    assert!(body["data"]["createApiToken"]["token"].is_string());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let db = app.db_conn().await;
    let purged = authql::services::maintenance::purge(&db, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!((purged.sessions, purged.refresh_tokens), (1, 1));
    assert_eq!(entity::session::Entity::find().count(&db).await.unwrap(), 0);
    assert_eq!(
        entity::api_token::Entity::find().count(&db).await.unwrap(),
        1,
        "a live API token stays"
    );
}

#[tokio::test]
async fn parallel_wrong_logins_cannot_slip_past_the_limit() {
    let app = spawn_app_with(&[("LOGIN_RATE_LIMIT", "3/1h")]).await;
    app.activated_user("burst@example.com").await;
    let body = json!({ "query": LOGIN, "variables": { "input": { "email": "burst@example.com", "password": "wrong password!!" } } });
    let answers = app.concurrently(vec![(app.base.clone(), body); 10]).await;
    let wrong = answers
        .iter()
        .filter(|b| code(b) == "INVALID_CREDENTIALS")
        .count();
    let limited = answers.iter().filter(|b| code(b) == "RATE_LIMITED").count();
    assert_eq!((wrong, limited), (3, 7), "{answers:?}");
}

#[tokio::test]
async fn a_credential_that_cannot_be_checked_is_a_server_error_not_a_sign_out() {
    let app = spawn_app().await;
    let user = app.signed_in_user("dbdown@example.com").await;
    if app.db.is_postgres() {
        app.db.drop_now().await;
        let (status, body) = app.gql_as(Some(&user.bearer()), ME, json!({})).await;
        assert_eq!(
            (status, code(&body)),
            (500, "INTERNAL_SERVER_ERROR"),
            "{body}"
        );
        assert!(
            !body.to_string().contains("database"),
            "no internals: {body}"
        );
    }
}

#[tokio::test]
async fn the_client_ip_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
    for (trusted, expected) in [(None, "127.0.0.1"), (Some("127.0.0.0/8"), "203.0.113.7")] {
        let mut overrides = vec![];
        if let Some(t) = trusted {
            overrides.push(("TRUSTED_PROXIES", t));
        }
        let app = spawn_app_with(&overrides).await;
        app.activated_user("ip@example.com").await;
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("x-forwarded-for", "198.51.100.1, 203.0.113.7")
            .json(&json!({ "query": LOGIN, "variables": { "input": { "email": "ip@example.com", "password": PASSWORD } } }))
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        let token = body["data"]["login"]["accessToken"].as_str().unwrap();
        let (_, body) = app
            .gql_as(
                Some(&format!("Bearer {token}")),
                "{ sessions { ip } }",
                json!({}),
            )
            .await;
        assert_eq!(
            body["data"]["sessions"][0]["ip"], expected,
            "TRUSTED_PROXIES={trusted:?}"
        );
    }
}
