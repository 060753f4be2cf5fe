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
