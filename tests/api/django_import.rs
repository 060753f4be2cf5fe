//! `authql import-django` from a database real Django wrote
//! (tests/fixtures/django, made by its make_fixture.sh): every hasher's
//! users sign in with their Django passwords, and are argon2id after.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{TestApp, code, spawn_app, test_vars};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/django");

fn import(app: &TestApp, extra: &[&str]) -> String {
    let from = format!("sqlite://{FIXTURE}/auth_user.sqlite3?mode=ro");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authql"));
    cmd.args(["import-django", "--from", &from])
        .args(extra)
        .env_clear()
        .env("RUST_LOG", "warn");
    for (k, v) in test_vars(&app.db.url, &app.mail_dir, &[]) {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run authql import-django");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn stored_hash(app: &TestApp, email: &str) -> Option<entity::user::Model> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::user::Entity::find()
        .filter(entity::user::Column::EmailKey.eq(email))
        .one(&app.db_conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn django_users_sign_in_with_their_passwords_and_are_rehashed() {
    let app = spawn_app().await;
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURE}/users.json")).unwrap())
            .unwrap();
    let users = manifest["users"].as_array().unwrap();

    // A dry run reports all and writes nothing.
    let dry = import(&app, &["--dry-run"]);
    assert!(dry.contains("imported 11, skipped 2"), "{dry}");
    assert!(
        stored_hash(&app, "pbkdf2.sha256@example.com")
            .await
            .is_none()
    );

    let out = import(&app, &[]);
    assert!(out.trim_end().ends_with("imported 11, skipped 2"), "{out}");
    for (row, why) in [("10", "email"), ("11", "no valid email")] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("skipped row {row} ")) && l.contains(why)),
            "row {row}: {out}"
        );
    }
    // A hash over the limits is imported unusable, and says so (API.md §8.10).
    assert!(
        out.lines().any(|l| l.starts_with("imported row 12 ")
            && l.contains("unusable, hostile iteration count")),
        "{out}"
    );
    // Carried over as they were.
    let root = stored_hash(&app, "pbkdf2.sha256@example.com")
        .await
        .unwrap();
    assert!(root.is_superuser && root.is_staff && root.is_active);
    assert_eq!(root.date_joined.to_rfc3339(), "2024-03-01T08:30:00+00:00");
    assert!(root.last_login.is_some());
    assert_eq!(
        stored_hash(&app, "ann.lee@example.com")
            .await
            .unwrap()
            .username,
        None
    );

    for user in users.iter().filter(|u| u["expect"] != "skipped") {
        let email = user["email"].as_str().unwrap();
        let password = user["password"].as_str().unwrap_or("whatever it was 123");
        let body = app.login(email, password).await;
        match (user["expect"].as_str(), user["is_active"].as_bool()) {
            (Some("imported"), Some(true)) => {
                assert!(
                    body["data"]["login"]["accessToken"].is_string(),
                    "{email}: {body}"
                );
                let hash = stored_hash(&app, email).await.unwrap().password_hash;
                assert!(hash.starts_with("$argon2id$"), "{email} kept {hash}");
                // And the new hash takes the same password.
                let again = app.login(email, password).await;
                assert!(again["data"]["login"]["accessToken"].is_string(), "{again}");
            }
            (Some("imported"), _) => {
                assert_eq!(code(&body), "ACCOUNT_NOT_ACTIVE", "{email}: {body}")
            }
            _ => assert_eq!(code(&body), "INVALID_CREDENTIALS", "{email}: {body}"),
        }
    }
    // A wrong password for an imported hash is just wrong.
    let body = app
        .login("bcrypt@example.com", "not the password at all")
        .await;
    assert_eq!(code(&body), "INVALID_CREDENTIALS");

    // Nothing is imported twice.
    let again = import(&app, &[]);
    assert!(
        again.trim_end().ends_with("imported 0, skipped 13"),
        "{again}"
    );
    let (_, body): (u16, Value) = app.gql("{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query");
}

/// The review's takeover: an imported PBKDF2 hash with an empty digest
/// matched every password (an imported superuser was taken over). A hash
/// already stored so (by an earlier version) signs nobody in.
#[tokio::test]
async fn an_empty_or_padded_digest_signs_nobody_in() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let app = spawn_app().await;
    app.activated_user("imported@example.com").await;
    let padded = format!("pbkdf2_sha256$1000$salt${}", "A".repeat(88));
    for hash in ["pbkdf2_sha256$1000$salt$".to_owned(), padded] {
        entity::user::Entity::update_many()
            .col_expr(
                entity::user::Column::PasswordHash,
                Expr::value(hash.clone()),
            )
            .filter(entity::user::Column::EmailKey.eq("imported@example.com"))
            .exec(&app.db_conn().await)
            .await
            .unwrap();
        let body = app
            .login("imported@example.com", "any password at all")
            .await;
        assert_eq!(code(&body), "INVALID_CREDENTIALS", "{hash}: {body}");
    }
}
