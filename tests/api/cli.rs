//! The `authql` binary's verbs and its refusals, run as a separate process.

use std::process::{Command, Output};

use crate::helpers::TestDatabase;

fn authql(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = std::env::temp_dir().join(format!("authql-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authql"));
    cmd.args(args)
        .current_dir(&dir)
        .env_clear()
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run authql");
    let _ = std::fs::remove_dir_all(dir);
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn production_refuses_to_start_without_a_secret_key() {
    let out = authql(
        &["serve"],
        &[
            ("APP_ENV", "production"),
            ("EMAIL_URL", "smtp://127.0.0.1:2525"),
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("SECRET_KEY"), "{}", stderr(&out));
}

#[test]
fn production_refuses_console_email() {
    let out = authql(
        &["serve"],
        &[
            ("APP_ENV", "production"),
            ("SECRET_KEY", crate::helpers::app::SECRET_KEY),
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("console"), "{}", stderr(&out));
}

#[test]
fn invalid_configuration_is_refused_with_the_variable_named() {
    let out = authql(&["serve"], &[("ACCESS_TOKEN_TTL", "forever")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("ACCESS_TOKEN_TTL"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn export_schema_prints_the_checked_in_sdl() {
    let out = authql(
        &["export-schema"],
        &[("SECRET_KEY", crate::helpers::app::SECRET_KEY)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), checked_in);
}

#[tokio::test]
async fn migrate_up_status_down_and_fresh_work() {
    let db = TestDatabase::create().await;
    let env = [
        ("SECRET_KEY", crate::helpers::app::SECRET_KEY),
        ("DATABASE_URL", db.url.as_str()),
    ];
    for verb in [
        ["migrate", "up"],
        ["migrate", "status"],
        ["migrate", "down"],
        ["migrate", "up"],
        ["migrate", "fresh"],
    ] {
        let out = authql(&verb, &env);
        assert!(out.status.success(), "{verb:?}: {}", stderr(&out));
    }
    // `migrate` alone means `up`, and is idempotent.
    let out = authql(&["migrate"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully_and_a_second_instance_shares_the_database() {
    let app = crate::helpers::spawn_app().await;
    let second = crate::helpers::spawn_process(&app.db.url, &app.mail_dir, &[]).await;
    let resp = reqwest::get(format!("{}/readyz", second.base))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let status = second.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    app.stop().await;
}

#[test]
fn an_argument_error_prints_a_usage_line() {
    let out = authql(&["migrate", "sideways"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("sideways"), "{err}");
    assert!(err.contains("Usage: authql"), "{err}");
}

/// A missing, unreadable or public-only key file stops the server naming
/// the variable, with exit 2, as every failing setting does (API.md §8.10).
#[test]
fn a_bad_key_file_is_named_and_exits_2() {
    let dir = std::env::temp_dir().join(format!("authql-keys-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let private = dir.join("private.pem");
    let made = authql(
        &[
            "keys",
            "generate",
            "--algorithm",
            "EdDSA",
            private.to_str().unwrap(),
        ],
        &[],
    );
    assert!(made.status.success(), "{}", stderr(&made));
    let public = dir.join("public.pem");
    let text = std::fs::read_to_string(&private).unwrap();
    let key =
        <ed25519_dalek::SigningKey as ed25519_dalek::pkcs8::DecodePrivateKey>::from_pkcs8_pem(
            &text,
        )
        .unwrap();
    let pem = ed25519_dalek::pkcs8::EncodePublicKey::to_public_key_pem(
        &key.verifying_key(),
        ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF,
    )
    .unwrap();
    std::fs::write(&public, pem).unwrap();
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a key").unwrap();
    let db = format!("sqlite://{}/x.db?mode=rwc", dir.display());
    for (variable, file) in [
        ("JWT_PRIVATE_KEY_FILE", dir.join("missing.pem")),
        ("JWT_PRIVATE_KEY_FILE", public.clone()),
        ("JWT_PRIVATE_KEY_FILE", garbage.clone()),
        ("JWT_PREVIOUS_KEY_FILES", dir.join("missing.pem")),
    ] {
        let key_file = if variable == "JWT_PRIVATE_KEY_FILE" {
            file.clone()
        } else {
            private.clone()
        };
        let mut env = vec![
            ("DATABASE_URL", db.as_str()),
            ("JWT_ALGORITHM", "EdDSA"),
            ("JWT_PRIVATE_KEY_FILE", key_file.to_str().unwrap()),
        ];
        if variable == "JWT_PREVIOUS_KEY_FILES" {
            env.push(("JWT_PREVIOUS_KEY_FILES", file.to_str().unwrap()));
        }
        let out = authql(&["serve"], &env);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{variable} {file:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(variable),
            "{variable} {file:?}: {}",
            stderr(&out)
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
