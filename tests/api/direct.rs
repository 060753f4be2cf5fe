//! On PostgreSQL `Hot` runs its statements on connections of its own
//! (`db::direct`), not sqlx's pool. A connection PostgreSQL ended while it
//! sat idle (a restart, a failover, an administrator's
//! `pg_terminate_backend`) must not fail the next request that reads
//! through it: the read runs again on a new connection.

use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

const ME: &str = "{ me { id email } }";

/// Ends every other connection to the test's database, as an
/// administrator (or a PostgreSQL restart) would.
async fn terminate_connections(app: &TestApp) -> u64 {
    let db = app.db_conn().await;
    let ended = db
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await
        .expect("terminate the connections")
        .rows_affected();
    db.close().await.ok();
    ended
}

/// Six `me` requests at once, so that several connections are in use.
async fn at_once(app: &TestApp, auth: &str) -> Vec<serde_json::Value> {
    let requests = (0..6).map(|_| app.gql_as(Some(auth), ME, json!({})));
    futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|(_, body)| body)
        .collect()
}

#[tokio::test]
async fn reads_survive_postgres_ending_idle_connections() {
    let app = spawn_app().await;
    if !app.db.is_postgres() {
        return;
    }
    let user = app.signed_in_user("direct-ended@example.com").await;
    let auth = user.bearer();
    // Several requests at once, so several connections are open and idle.
    for body in at_once(&app, &auth).await {
        assert_eq!(body["data"]["me"]["email"], "direct-ended@example.com");
    }
    assert!(terminate_connections(&app).await > 0);
    // Give PostgreSQL a moment to close the sockets.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        for body in at_once(&app, &auth).await {
            assert_eq!(
                body["data"]["me"]["email"], "direct-ended@example.com",
                "{body}"
            );
        }
    }
    // Revocation still reaches the next request on the new connections.
    // (The logout's transaction runs on sqlx's pool, which, like any pool
    // without a ping before each checkout, fails once per dead connection
    // it still held: so it may take more than one try.)
    let mut out = serde_json::Value::Null;
    for _ in 0..20 {
        out = app
            .gql_as(Some(&auth), "mutation { logout }", json!({}))
            .await
            .1;
        if out["errors"].is_null() {
            break;
        }
    }
    assert_eq!(out["data"]["logout"], true, "{out}");
    let (status, body) = app.gql_as(Some(&auth), ME, json!({})).await;
    assert_eq!(status, 401, "{body}");
}
