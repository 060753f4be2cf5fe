//! Metrics on `METRICS_ADDR` (API.md §8.7): they move by exactly what was
//! done, carry no personal data in any label, and are absent on `BIND_ADDR`.

use serde_json::json;

use crate::helpers::{TestApp, mail, spawn_app_with};

async fn scrape(app: &TestApp) -> String {
    let base = app.metrics_base.as_ref().expect("METRICS_ADDR is set");
    let resp = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    resp.text().await.unwrap()
}

/// The value of one series (`name{labels}`), 0 when it has not appeared.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_move_by_exactly_what_was_done() {
    let app = spawn_app_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let before = scrape(&app).await;
    let graphql_200 = "authql_http_requests_total{route=\"/graphql\",status=\"200\"}";

    // 3 GraphQL requests: register, activate, login.
    app.signed_in_user("counted@example.com").await;
    // 2 more: wrong passwords.
    for _ in 0..2 {
        app.login("counted@example.com", "wrong password!!").await;
    }
    // 3 more: plain queries.
    for _ in 0..3 {
        app.gql("{ __typename }", json!({})).await;
    }
    // A mailed link's page: its uid and token must not become a label.
    let link = mail::wait_for(&app.mail_dir, "counted@example.com", 1).await[0].link("activate");
    app.client
        .get(app.url(&format!("/activate/{}/{}", link.0, link.1)))
        .send()
        .await
        .unwrap();
    let after = scrape(&app).await;

    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(delta("authql_logins_total{outcome=\"success\"}"), 1.0);
    assert_eq!(
        delta("authql_logins_total{outcome=\"invalid_credentials\"}"),
        2.0
    );
    assert_eq!(delta(graphql_200), 8.0);
    assert_eq!(
        delta("authql_graphql_operations_total{outcome=\"ok\",type=\"query\"}"),
        3.0
    );
    assert_eq!(
        delta("authql_graphql_operations_total{outcome=\"error\",type=\"mutation\"}"),
        2.0
    );
    assert_eq!(
        delta("authql_graphql_operations_total{outcome=\"ok\",type=\"mutation\"}"),
        3.0
    );
    assert_eq!(
        delta("authql_http_request_duration_seconds_count{route=\"/graphql\"}"),
        8.0
    );
    assert!(
        after.contains("route=\"/activate/{uid}/{token}\""),
        "{after}"
    );
    // Three argon2 verifications (one right, two wrong) and one hash.
    assert_eq!(delta("authql_password_hash_duration_seconds_count"), 4.0);
    assert_eq!(value(&after, "authql_password_hash_queue_waiting"), 0.0);
    assert!(after.contains("authql_build_info{version=\""));
    assert!(after.contains("authql_db_pool_connections{state=\"idle\"}"));
    assert!(after.contains("authql_mail_outbox_pending"));

    // No label carries an address, an IP, a token or a user id.
    for line in after.lines().filter(|l| !l.starts_with('#')) {
        assert!(!line.contains('@'), "{line}");
        assert!(!line.contains("127.0.0.1"), "{line}");
        assert!(!line.contains(&link.1), "{line}");
    }

    // Not on the API's own listener.
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}
