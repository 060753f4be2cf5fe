//! TLS to PostgreSQL (API.md §8.10): every connection the server opens
//! (sqlx's pool, the direct path, the listener of §8.6, the CLI) follows
//! the URL's `sslmode` and `sslrootcert`, seen from PostgreSQL's side in
//! `pg_stat_ssl`. Before this, `?sslmode=require` stopped the server from
//! starting ("SQLx was built without TLS support") and nothing was
//! encrypted. PostgreSQL only; this machine's server has SSL on with a
//! self-signed certificate for `localhost`.

use std::process::Command;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestDatabase, spawn_process};

/// `url` with `params` in its query.
fn with_params(url: &str, params: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{params}")
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> Value {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<Option<String>>(0)
        .map(|v| json!(v))
        .or_else(|_| row.try_get_by_index::<Option<i64>>(0).map(|v| json!(v)))
        .or_else(|_| row.try_get_by_index::<Option<bool>>(0).map(|v| json!(v)))
        .expect("a scalar")
}

/// The server's connections to the test's database: how many, and how
/// many of them encrypted (our own connection left out).
async fn connections(db: &TestDatabase) -> (i64, i64) {
    let admin = Database::connect(&with_params(&db.url, "sslmode=disable"))
        .await
        .expect("connect");
    let sql = "SELECT count(*)::bigint, count(*) FILTER (WHERE s.ssl)::bigint \
               FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
               WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()";
    let row = admin
        .query_one_raw(Statement::from_string(admin.get_database_backend(), sql))
        .await
        .expect("count connections")
        .expect("a row");
    let counts = (
        row.try_get_by_index(0).unwrap(),
        row.try_get_by_index(1).unwrap(),
    );
    admin.close().await.ok();
    counts
}

/// Reads through the direct path and writes through the pool, so that
/// every kind of connection is open.
async fn exercise(base: &str) {
    let client = reqwest::Client::new();
    for query in [
        json!({ "query": "{ products(first: 5) { nodes { id } } }" }),
        json!({ "query": "mutation { requestPasswordReset(email: \"nobody@example.com\") }" }),
    ] {
        let body: Value = client
            .post(format!("{base}/graphql"))
            .json(&query)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body["errors"].is_null(), "{body}");
    }
}

/// The server certificate PostgreSQL presents (`ssl_cert_file`).
async fn server_certificate(db: &TestDatabase) -> String {
    let admin = Database::connect(&db.url).await.expect("connect");
    let file = scalar(&admin, "SHOW ssl_cert_file").await;
    admin.close().await.ok();
    file.as_str().expect("a path").to_owned()
}

#[tokio::test]
async fn every_connection_follows_sslmode() {
    let db = TestDatabase::create().await;
    if !db.is_postgres() {
        return;
    }
    let mail = db.scratch_dir("mail");
    for (mode, encrypted) in [("require", true), ("disable", false)] {
        let url = with_params(&db.url, &format!("sslmode={mode}"));
        let server = spawn_process(&url, &mail, &[]).await;
        exercise(&server.base).await;
        let (open, ssl) = connections(&db).await;
        // The pool, the direct path's connections, the listener.
        assert!(open >= 3, "{mode}: {open} connections");
        assert_eq!(
            ssl,
            if encrypted { open } else { 0 },
            "{mode}: {ssl} of {open} encrypted"
        );
        drop(server);
    }
}

#[tokio::test]
async fn verify_ca_checks_the_chain_and_verify_full_the_name() {
    let db = TestDatabase::create().await;
    if !db.is_postgres() {
        return;
    }
    let mail = db.scratch_dir("mail");
    let root = server_certificate(&db).await;
    let url = with_params(&db.url, &format!("sslmode=verify-ca&sslrootcert={root}"));
    let server = spawn_process(&url, &mail, &[]).await;
    exercise(&server.base).await;
    let (open, ssl) = connections(&db).await;
    assert!(open >= 3 && ssl == open, "{ssl} of {open} encrypted");
    drop(server);

    // The certificate names `localhost`: verify-full to 127.0.0.1 fails,
    // on sqlx's connections (migrations) as on ours.
    let by_ip = with_params(&db.url, &format!("sslmode=verify-full&sslrootcert={root}"));
    let by_name = by_ip.replacen("127.0.0.1", "localhost", 1);
    assert_ne!(by_ip, by_name, "the test database is on 127.0.0.1");
    let migrate = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_authql"))
            .args(["migrate", "status"])
            .env_clear()
            .env("DATABASE_URL", url)
            .env("SECRET_KEY", "0123456789abcdef0123456789abcdef")
            .output()
            .expect("run authql")
    };
    let refused = migrate(&by_ip);
    assert!(
        !refused.status.success(),
        "verify-full accepted a name the certificate lacks"
    );
    assert!(migrate(&by_name).status.success());
    // Roots that did not sign the server's certificate: the webpki roots.
    let unknown = by_name.replace(&format!("&sslrootcert={root}"), "");
    assert!(!migrate(&unknown).status.success());
    // The direct path checks the same: a server whose migrations ran.
    let server = spawn_process(&by_name, &mail, &[]).await;
    exercise(&server.base).await;
    drop(server);
}

/// In production, plaintext to a PostgreSQL server other than loopback
/// stops the server before it connects: exit 2, naming the variable.
#[test]
fn production_refuses_plaintext_to_a_remote_database() {
    let out = Command::new(env!("CARGO_BIN_EXE_authql"))
        .arg("serve")
        .env_clear()
        .env("APP_ENV", "production")
        .env("SECRET_KEY", "0123456789abcdef0123456789abcdef")
        .env("EMAIL_URL", "smtp://127.0.0.1:1")
        .env(
            "DATABASE_URL",
            "postgres://authql@db.example.com:5432/authql",
        )
        .output()
        .expect("run authql");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(stderr.contains("sslmode=require"), "{stderr}");
}
