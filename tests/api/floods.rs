//! Floods one client can cause (API.md §8.1), written as the attacker
//! sends them: each must be bounded per client, an IPv6 client by its /64.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_rate_limited, spawn_app_with};

async fn register_from(app: &TestApp, ip: &str, email: &str) -> Value {
    let body = json!({
        "query": "mutation($i: RegisterInput!) { register(input: $i) { email } }",
        "variables": { "i": { "email": email, "password": PASSWORD, "confirmPassword": PASSWORD } },
    });
    app.client
        .post(app.url("/graphql"))
        .header("x-forwarded-for", ip)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Each `register` costs a hash, a row and a mail to any address: one
/// client gets REGISTER_RATE_LIMIT of them, and hopping addresses inside
/// its IPv6 /64 does not buy more.
#[tokio::test]
async fn register_is_limited_per_client_and_an_ipv6_64_is_one_client() {
    let app = spawn_app_with(&[
        ("REGISTER_RATE_LIMIT", "2/1h"),
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ])
    .await;
    for (i, ip) in ["2001:db8:1:2::1", "2001:db8:1:2::ffff"].iter().enumerate() {
        let body = register_from(&app, ip, &format!("ok{i}@example.com")).await;
        assert_eq!(
            body["data"]["register"]["email"],
            format!("ok{i}@example.com"),
            "{body}"
        );
    }
    let body = register_from(&app, "2001:db8:1:2:abcd::9", "third@example.com").await;
    assert_rate_limited(&body);
    assert!(app.login("third@example.com", PASSWORD).await["errors"].is_array());
    assert_eq!(app.mails_to_count("third@example.com"), 0);

    // Another /64, and an IPv4 client, have budgets of their own.
    for (ip, email) in [
        ("2001:db8:1:3::1", "v6@example.com"),
        ("198.51.100.7", "v4@example.com"),
    ] {
        let body = register_from(&app, ip, email).await;
        assert_eq!(body["data"]["register"]["email"], email, "{ip}: {body}");
    }
}

/// One request of aliased (or batched) anonymous writes was thousands of
/// write transactions and mails: over 3 in a request, nothing runs.
#[tokio::test]
async fn a_request_holds_at_most_three_anonymous_writes() {
    let app = crate::helpers::spawn_app_with(&[("MAIL_RATE_LIMIT", "100/1h")]).await;
    app.activated_user("flooded@example.com").await;
    let resets = |n: usize| {
        let fields: Vec<String> = (0..n)
            .map(|i| format!("r{i}: requestPasswordReset(email: \"flooded@example.com\")"))
            .collect();
        json!({ "query": format!("mutation {{ {} }}", fields.join(" ")) })
    };
    let (status, body) = app.post_json(&resets(4)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(crate::helpers::code(&body), "BAD_REQUEST", "{body}");
    let (status, body) = app.post_json(&json!([resets(2), resets(2)])).await;
    assert_eq!(status, 400, "a batch counts as one request: {body}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.mails_to_count("flooded@example.com"),
        1,
        "only the activation mail"
    );

    let (status, body) = app.post_json(&json!([resets(2), resets(1)])).await;
    assert_eq!(status, 200, "{body}");
    crate::helpers::mail::wait_for(&app.mail_dir, "flooded@example.com", 4).await;
}

/// A search and a count of all rows read every row: priced at 10 each, so
/// one document at the default MAX_COMPLEXITY holds about 50, not 500.
#[tokio::test]
async fn searches_and_counts_are_priced_so_a_document_holds_about_fifty() {
    let app = crate::helpers::spawn_app().await;
    let scans = |n: usize| {
        let fields: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "s{i}: productsPage(pageSize: 1, filter: {{search: \"qzx\"}}) {{ totalCount }}"
                )
            })
            .collect();
        json!({ "query": format!("{{ {} }}", fields.join(" ")) })
    };
    // Each alias: 1 for the field, 10 for the search, 10 for the count,
    // and 1 for its page of one row (API.md §8.9).
    let (status, body) = app.post_json(&scans(45)).await;
    assert_eq!(
        (status, body["data"]["s44"]["totalCount"].clone()),
        (200, json!(0)),
        "{body}"
    );
    let (_, body) = app.post_json(&scans(46)).await;
    assert_eq!(
        crate::helpers::code(&body),
        "GRAPHQL_VALIDATION_FAILED",
        "{body}"
    );
    assert!(body["data"].is_null(), "{body}");
}
