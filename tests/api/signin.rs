//! Login, tokens, sessions, logout, API tokens, revocation and rate limits.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::users::LOGIN;
use crate::helpers::{PASSWORD, code, spawn_app, spawn_app_with, spawn_process};

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
    let purged = authql::services::account::maintenance::purge(
        &db,
        chrono::Utc::now(),
        Duration::from_secs(86_400),
    )
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
