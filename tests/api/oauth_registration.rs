//! RFC 7591 registration of public clients (API.md §9.3) over HTTP, its
//! limit, and the token endpoint's counter (§8.7).

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::helpers::oauth::{provider_app, token};

async fn register(app: &TestApp, body: &Value) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/oauth/register"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn public_clients_register_themselves_within_the_limit() {
    let app = provider_app(&[
        ("OAUTH_DYNAMIC_REGISTRATION", "true"),
        ("OAUTH_REGISTRATION_RATE_LIMIT", "4/1h"),
    ])
    .await;
    let (status, made) = register(
        &app,
        &json!({"redirect_uris": ["http://127.0.0.1/cb"], "client_name": "MCP tool", "logo_uri": "https://x.example/l.png"}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["token_endpoint_auth_method"], "none");
    assert_eq!(made["client_name"], "MCP tool");
    assert!(made.get("client_secret").is_none() && made.get("logo_uri").is_none());
    // Only authorization_code: never a refresh token.
    let (status, narrow) = register(
        &app,
        &json!({"redirect_uris": ["https://tool.example/cb"], "grant_types": ["authorization_code"]}),
    )
    .await;
    assert_eq!(status, 201, "{narrow}");
    assert_eq!(narrow["grant_types"], json!(["authorization_code"]));
    assert!(!narrow["scope"].as_str().unwrap().contains("offline_access"));
    assert_eq!(narrow["client_name"], "tool.example");
    let (status, bad) = register(&app, &json!({"redirect_uris": ["http://evil.example/cb"]})).await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("invalid_redirect_uri"))
    );
    let (status, bad) = register(
        &app,
        &json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_basic"}),
    )
    .await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("invalid_client_metadata"))
    );
    // Four registrations, accepted or not, spent the window.
    let (status, _) = register(&app, &json!({"redirect_uris": ["https://a.example/cb"]})).await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn token_requests_are_counted_by_grant_type_and_outcome() {
    let app = provider_app(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    for _ in 0..2 {
        let (status, body) = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "nobody"),
            ],
            None,
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
    }
    let base = app.metrics_base.as_ref().unwrap();
    let text = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "authql_oauth_token_requests_total{grant_type=\"authorization_code\",outcome=\"invalid_client\"} 2"
        ),
        "{text}"
    );
}
