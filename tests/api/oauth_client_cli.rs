//! `authql oauth-client create|list|delete` (API.md §9.3): JSON on stdout
//! and nothing else, the mutations' rules, whatever OAUTH_PROVIDER says;
//! the server sees what the command line made.

use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, test_vars};
use crate::oauth_clients::{ALL_SCOPES, LIST, is_base64url, sha256_hex, stored};

fn authql(app: &TestApp, args: &[&str]) -> Output {
    let dir = std::env::temp_dir().join(format!("authql-oauth-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authql"));
    cmd.arg("oauth-client")
        .args(args)
        .current_dir(&dir)
        .env_clear()
        .env("RUST_LOG", "warn");
    for (k, v) in test_vars(&app.db.url, &app.mail_dir, &[("OAUTH_PROVIDER", "false")]) {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run authql oauth-client");
    let _ = std::fs::remove_dir_all(dir);
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stdout, which must be one JSON value and nothing else.
fn json_out(out: &Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON value ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[tokio::test]
async fn the_command_line_creates_lists_and_deletes_clients() {
    let app = spawn_app().await;
    let made = json_out(&authql(
        &app,
        &[
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://app.example/cb",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--post-logout-redirect-uri",
            "https://app.example/bye",
            "--scope",
            "openid",
            "--scope",
            "email",
            "--skip-consent",
        ],
    ));
    let secret = made["client_secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{made}"));
    assert!(secret.len() >= 43 && is_base64url(secret), "{secret}");
    assert_eq!(
        (&made["name"], &made["type"]),
        (&json!("Shop"), &json!("confidential"))
    );
    assert_eq!(
        made["redirect_uris"],
        json!(["https://app.example/cb", "http://127.0.0.1/cb"])
    );
    assert_eq!(
        made["post_logout_redirect_uris"],
        json!(["https://app.example/bye"])
    );
    assert_eq!(made["allowed_scopes"], json!(["openid", "email"]));
    assert_eq!(made["skip_consent"], true);
    let id = made["client_id"].as_str().unwrap().to_owned();
    assert_eq!(
        stored(&app, &id).await.secret_hash,
        Some(sha256_hex(secret))
    );

    let public = json_out(&authql(
        &app,
        &[
            "create",
            "--name",
            "CLI tool",
            "--redirect-uri",
            "http://127.0.0.1/callback",
            "--public",
        ],
    ));
    assert!(public["client_secret"].is_null(), "{public}");
    assert_eq!(public["type"], "public");
    assert_eq!(public["allowed_scopes"], json!(ALL_SCOPES));
    assert_eq!(
        (
            &public["skip_consent"],
            &public["post_logout_redirect_uris"]
        ),
        (&json!(false), &json!([]))
    );

    let listed = json_out(&authql(&app, &["list"]));
    let listed = listed.as_array().unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["client_id"], public["client_id"], "newest first");
    for client in listed {
        assert!(client.get("client_secret").is_none(), "{client}");
        assert_eq!(client["dynamic"], false);
        assert!(client["created_at"].is_string(), "{client}");
    }
    let staff = app.staff_user("staff@example.com").await;
    let (_, body) = app.gql_as(Some(&staff.bearer()), LIST, json!({})).await;
    assert_eq!(body["data"]["oauthClients"]["totalCount"], 2, "{body}");

    let out = authql(&app, &["delete", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let out = authql(&app, &["delete", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&id), "{}", stderr(&out));
    let listed = json_out(&authql(&app, &["list"]));
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
}

#[tokio::test]
async fn invalid_arguments_exit_with_the_usage_line_and_create_nothing() {
    let app = spawn_app().await;
    let cb = "https://app.example/cb";
    for args in [
        vec!["create", "--name", "Shop"],
        vec!["create", "--redirect-uri", cb],
        vec![
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "http://app.example/cb",
        ],
        vec![
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://app.example/cb#x",
        ],
        vec![
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://*.example/cb",
        ],
        vec![
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            cb,
            "--scope",
            "admin",
        ],
        vec!["create", "--name", "  ", "--redirect-uri", cb],
        vec!["create", "--name", "Shop", "--redirect-uri", cb, "--bogus"],
        vec!["delete", "not-a-client-id"],
        vec!["delete"],
        vec!["rename"],
    ] {
        let out = authql(&app, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr(&out).contains("Usage:"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(json_out(&authql(&app, &["list"])), json!([]));
}
