//! Registration, activation by link and by code, resend, profile, mail.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::users::REGISTER;
use crate::helpers::{PASSWORD, code, mail, spawn_app, spawn_app_with};

fn fields(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body["errors"][0]["extensions"]["fields"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[tokio::test]
async fn each_validation_error_names_its_field() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({ "email": "not an email", "password": PASSWORD, "confirmPassword": PASSWORD }),
            "email",
        ),
        (
            json!({ "email": "a@example.com", "password": "short", "confirmPassword": "short" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": "password123", "confirmPassword": "password123" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": "x".repeat(129), "confirmPassword": "x".repeat(129) }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "confirmPassword": "something else" }),
            "confirmPassword",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "confirmPassword": PASSWORD, "username": "x!" }),
            "username",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "confirmPassword": PASSWORD, "phone": "call me" }),
            "phone",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "confirmPassword": PASSWORD, "firstName": "x".repeat(151) }),
            "firstName",
        ),
        (
            json!({ "email": "johnsmith@example.com", "password": "johnsmith1", "confirmPassword": "johnsmith1" }),
            "password",
        ),
        (
            json!({ "email": "x".repeat(1_000_000), "password": PASSWORD, "confirmPassword": PASSWORD }),
            "email",
        ),
    ];
    for (input, field) in cases {
        let (status, body) = app.gql(REGISTER, json!({ "input": input })).await;
        assert_eq!(status, 200);
        assert_eq!(code(&body), "BAD_USER_INPUT", "{field}: {body}");
        assert!(fields(&body).contains(&field.to_owned()), "{field}: {body}");
    }
    // Several problems at once are all reported.
    let (_, body) = app
        .gql(REGISTER, json!({ "input": { "email": "nope", "password": "short", "confirmPassword": "other" } }))
        .await;
    assert_eq!(fields(&body), vec!["confirmPassword", "email", "password"]);
    assert!(
        mail::settled(&app.mail_dir, "a@example.com")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn an_address_already_registered_answers_the_same_and_its_owner_gets_a_notice() {
    let app = spawn_app().await;
    let first = app.register("Owner@Example.com", PASSWORD).await;
    let second = app.register("  owner@EXAMPLE.com ", PASSWORD).await;
    assert_eq!(first["data"]["register"]["activationRequired"], true);
    assert_eq!(
        first["data"]["register"]["activationRequired"],
        second["data"]["register"]["activationRequired"]
    );
    assert!(second["errors"].is_null(), "{second}");
    let mails = mail::wait_for(&app.mail_dir, "owner@example.com", 2).await;
    assert!(
        mails[0].subject.contains("Activate"),
        "{:?}",
        mails[0].subject
    );
    assert!(
        mails[1].subject.contains("tried to sign up"),
        "{:?}",
        mails[1].subject
    );
    assert!(!mails[1].text.contains("/activate/"));
}

#[tokio::test]
async fn a_taken_username_is_bad_user_input_on_username_case_insensitively() {
    let app = spawn_app().await;
    let input = |email: &str, username: &str| json!({ "input": { "email": email, "password": PASSWORD, "confirmPassword": PASSWORD, "username": username } });
    let (_, body) = app.gql(REGISTER, input("a@example.com", "Alice")).await;
    assert!(body["errors"].is_null(), "{body}");
    let (_, body) = app.gql(REGISTER, input("b@example.com", "ALICE")).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(fields(&body), vec!["username"]);
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_address_make_one_account() {
    let app = spawn_app_with(&[("MAIL_RATE_LIMIT", "100/1h")]).await;
    let requests = (0..20)
        .map(|i| {
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@example.com"
            };
            let input =
                json!({ "email": email, "password": PASSWORD, "confirmPassword": PASSWORD });
            (
                app.base.clone(),
                json!({ "query": REGISTER, "variables": { "input": input } }),
            )
        })
        .collect();
    for body in app.concurrently(requests).await {
        assert!(
            body["errors"].is_null() && body["data"]["register"].is_object(),
            "{body}"
        );
    }
    let mails = mail::wait_for(&app.mail_dir, "race@example.com", 20).await;
    let activations = mails
        .iter()
        .filter(|m| m.subject.contains("Activate"))
        .count();
    assert_eq!(
        activations, 1,
        "exactly one account, so exactly one activation mail"
    );
    use sea_orm::{EntityTrait, PaginatorTrait};
    let users = entity::user::Entity::find()
        .count(&app.db_conn().await)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn the_outbox_delivers_once_smtp_is_back() {
    let port = crate::helpers::free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(&[("EMAIL_URL", &url)]).await;
    app.register("outage@example.com", PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let sink = crate::helpers::smtp::SmtpSink::start(port).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(raw) = sink.received.lock().unwrap().first().cloned() {
            let m = mail::parse(&raw).unwrap();
            assert_eq!(m.to, "outage@example.com");
            assert!(m.subject.contains("Activate"));
            assert!(m.message_id.contains('@'));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the message was not delivered after the outage"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received.lock().unwrap().len(), 1, "delivered once");
}

#[tokio::test]
async fn mail_is_queued_in_the_outbox_with_text_and_html() {
    let app = spawn_app().await;
    app.register("parts@example.com", PASSWORD).await;
    let m = &mail::wait_for(&app.mail_dir, "parts@example.com", 1).await[0];
    assert!(
        m.html.contains("<a href=\"http://localhost:8000/activate/"),
        "{}",
        m.html
    );
    assert!(m.text.contains(&m.code()));
    // Delivered, its bodies (the live code and link) are gone from the
    // database; recipient, subject and times stay (API.md §8.1).
    use sea_orm::EntityTrait;
    let db = app.db_conn().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let rows = entity::email_outbox::Entity::find().all(&db).await.unwrap();
        let row = rows
            .iter()
            .find(|r| r.to_address == "parts@example.com")
            .unwrap();
        if row.sent_at.is_some() {
            assert!(
                row.text_body.is_empty() && row.html_body.is_empty(),
                "{row:?}"
            );
            assert!(!row.subject.is_empty());
            assert!(!row.text_body.contains(&m.code()));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never marked sent");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn links_are_built_from_public_url_never_from_request_headers() {
    let app = spawn_app_with(&[("PUBLIC_URL", "https://auth.example.com")]).await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .json(&json!({ "query": REGISTER, "variables": { "input": { "email": "hdr@example.com", "password": PASSWORD, "confirmPassword": PASSWORD } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let m = &mail::wait_for(&app.mail_dir, "hdr@example.com", 1).await[0];
    assert!(m.text.contains("https://auth.example.com/activate/"));
    assert!(!m.text.contains("evil"));
}

#[tokio::test]
async fn registration_without_required_activation_is_active_at_once() {
    let app = spawn_app_with(&[("REQUIRE_ACTIVATION", "false")]).await;
    let body = app.register("open@example.com", PASSWORD).await;
    assert_eq!(body["data"]["register"]["activationRequired"], false);
    let body = app.login("open@example.com", PASSWORD).await;
    assert_eq!(body["data"]["login"]["__typename"], "AuthPayload", "{body}");
}

#[tokio::test]
async fn me_and_update_profile() {
    let app = spawn_app().await;
    let user = app.signed_in_user("me@example.com").await;
    let auth = Some(user.bearer());
    let (_, body) = app
        .gql_as(
            auth.as_deref(),
            "{ me { id email isActive isStaff twoFactorEnabled lastLogin gender } }",
            json!({}),
        )
        .await;
    let me = &body["data"]["me"];
    assert_eq!(me["email"], "me@example.com");
    assert_eq!(me["id"], user.id.as_str());
    assert_eq!(me["isActive"], true);
    assert_eq!(me["gender"], "UNSPECIFIED");
    assert!(me["lastLogin"].is_string());

    const UPDATE: &str = "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { username firstName lastName phone gender } }";
    let (_, body) = app
        .gql_as(auth.as_deref(), UPDATE, json!({ "i": { "username": "Me_1", "firstName": " Ada ", "phone": "+44 20 7946 0958", "gender": "FEMALE" } }))
        .await;
    assert_eq!(
        body["data"]["updateProfile"],
        json!({ "username": "Me_1", "firstName": "Ada", "lastName": null, "phone": "+442079460958", "gender": "FEMALE" })
    );
    let (_, body) = app
        .gql_as(auth.as_deref(), UPDATE, json!({ "i": { "phone": null } }))
        .await;
    assert_eq!(body["data"]["updateProfile"]["phone"], Value::Null);
    assert_eq!(
        body["data"]["updateProfile"]["username"], "Me_1",
        "omitted fields stay"
    );
    let (_, body) = app
        .gql_as(
            auth.as_deref(),
            UPDATE,
            json!({ "i": { "phone": "abc", "username": "!!" } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(fields(&body), vec!["phone", "username"]);

    let other = app.signed_in_user("other@example.com").await;
    let (_, body) = app
        .gql_as(
            Some(&other.bearer()),
            UPDATE,
            json!({ "i": { "username": "ME_1" } }),
        )
        .await;
    assert_eq!(fields(&body), vec!["username"]);
    let (_, body) = app.gql(UPDATE, json!({ "i": { "firstName": "x" } })).await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn create_superuser_makes_an_active_staff_account() {
    let app = spawn_app().await;
    let run = |password: &str, email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_authql"))
            .args(["create-superuser", "--email", email, "--username", "root"])
            .current_dir(std::env::temp_dir())
            .env_clear()
            .env("DATABASE_URL", &app.db.url)
            .env("SECRET_KEY", crate::helpers::app::SECRET_KEY)
            .env("AUTHQL_PASSWORD", password)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let weak = run("password", "admin@example.com");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
    let ok = run(PASSWORD, "admin@example.com");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let again = run(PASSWORD, "ADMIN@example.com");
    assert!(!again.status.success());
    let body = app.login("admin@example.com", PASSWORD).await;
    let token = body["data"]["login"]["accessToken"].as_str().unwrap();
    let (_, body) = app
        .gql_as(
            Some(&format!("Bearer {token}")),
            "{ me { isStaff isActive username } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["me"],
        json!({ "isStaff": true, "isActive": true, "username": "root" })
    );
}

/// Registrations racing for one username: on PostgreSQL the losers reach
/// the unique index, which is told apart by its constraint (it was by the
/// word "username" in the message): each loser is `BAD_USER_INPUT` on
/// `username`, and exactly one account is made.
#[tokio::test]
async fn racing_registrations_for_one_username_make_one_account() {
    let app = spawn_app_with(&[]).await;
    let requests = (0..8)
        .map(|i| {
            let input = json!({
                "email": format!("racer{i}@example.com"),
                "username": "Racer",
                "password": PASSWORD,
                "confirmPassword": PASSWORD,
            });
            let body = json!({ "query": REGISTER, "variables": { "input": input } });
            (app.base.clone(), body)
        })
        .collect();
    let answers = app.concurrently(requests).await;
    let made = answers
        .iter()
        .filter(|b| b["data"]["register"]["email"].is_string())
        .count();
    assert_eq!(made, 1, "{answers:?}");
    for body in answers.iter().filter(|b| b["errors"].is_array()) {
        assert_eq!(code(body), "BAD_USER_INPUT", "{body}");
        assert!(
            body["errors"][0]["extensions"]["fields"]["username"].is_array(),
            "{body}"
        );
    }
}
