//! Health, panics, request ids and error codes: the server keeps answering,
//! and every error says what it is.

use serde_json::{Value, json};

use crate::helpers::{code, spawn_app};

const GRJ: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok");
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    if app.db.is_postgres() {
        app.db.drop_now().await;
        let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 503);
        let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }
}

#[tokio::test]
async fn a_panic_becomes_internal_server_error_and_the_server_keeps_serving() {
    use poem::{EndpointExt, Route, Server, handler, listener::TcpListener};

    #[handler]
    fn boom() -> &'static str {
        panic!("deliberate test panic")
    }
    #[handler]
    fn fine() -> &'static str {
        "fine"
    }
    let db = crate::helpers::TestDatabase::create().await;
    let vars = crate::helpers::test_vars(&db.url, &db.scratch_dir("mail"), &[]);
    let (settings, _) =
        authql::config::Settings::from_vars(&vars, std::path::Path::new("/x")).unwrap();
    let ep = authql::http::with_middleware(
        Route::new().at("/boom", boom).at("/fine", fine).boxed(),
        &settings,
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let server = tokio::spawn(Server::new(TcpListener::bind(addr)).run(ep));
    let client = reqwest::Client::new();
    let mut tries = 0;
    let resp = loop {
        match client.get(format!("http://{addr}/boom")).send().await {
            Ok(resp) => break resp,
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(resp.status().as_u16(), 500);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "INTERNAL_SERVER_ERROR");
    assert!(
        !body.to_string().contains("deliberate"),
        "panic message leaked: {body}"
    );
    let resp = client
        .get(format!("http://{addr}/fine"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "fine");
    server.abort();
}

#[tokio::test]
async fn every_error_response_carries_a_code() {
    let app = spawn_app().await;
    let queries = [
        r#"{"query":"{ me { id } }"}"#,
        r#"{"query":"{ me { nope } }"}"#,
        r#"{"query":"query($x: Int!) { __typename }","variables":{"x":"not an int"}}"#,
        r#"{"query":"query($x: Int!) { __typename }"}"#,
        r#"{"query":"query A { __typename } query B { __typename }"}"#,
        r#"{"query":"subscription { x }"}"#,
        r#"{"query":""}"#,
        r#"[{"query":"{"},{"query":"{ me { id } }"}]"#,
    ];
    for q in queries {
        for accept in [GRJ, JSON] {
            let (_, _, body) = app.post_accepting(q, accept).await;
            let errors = match &body {
                Value::Array(items) => items.iter().any(|i| i["errors"].is_array()),
                other => other["errors"].is_array(),
            };
            assert!(errors, "expected errors for {q}: {body}");
        }
    }
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert!(resp.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn a_missing_or_mistyped_variable_is_bad_user_input() {
    let app = spawn_app().await;
    let (_, _, b) = app
        .post_accepting(
            r#"{"query":"query($id: ID!) { product(id: $id) { id } }"}"#,
            JSON,
        )
        .await;
    assert!(
        ["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"].contains(&code(&b)),
        "{b}"
    );
    let (_, _, b) = app.post_accepting( r#"{"query":"query($n: Int) { products(first: $n) { totalCount } }","variables":{"n":"ten"}}"#, JSON).await;
    assert!(
        ["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"].contains(&code(&b)),
        "{b}"
    );
    assert!(!b.to_string().contains("INTERNAL_SERVER_ERROR"));
}

#[tokio::test]
async fn me_without_credentials_is_unauthenticated() {
    let app = spawn_app().await;
    let (status, body) = app.gql("{ me { id } }", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(code(&body), "UNAUTHENTICATED");
    assert_eq!(body["data"], Value::Null);
    let (status, _) = app
        .gql_as(Some("Bearer x"), "{ me { id } }", json!({}))
        .await;
    assert_eq!(status, 401);
}

/// An `Authorization` header that is empty or not even text is a credential
/// that does not authenticate (401), never an anonymous request; the token
/// views still ignore it.
#[tokio::test]
async fn empty_and_non_utf8_authorization_headers_are_401() {
    let app = spawn_app().await;
    let raw: [&[u8]; 2] = [b"", b"Bearer \xff\xfe"];
    for value in raw {
        let header = reqwest::header::HeaderValue::from_bytes(value).unwrap();
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", JSON)
            .header("authorization", header.clone())
            .body(r#"{"query":"{ products(first: 1) { totalCount } }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{value:?}");
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", JSON)
            .header("authorization", header)
            .body(r#"{"query":"mutation { requestPasswordReset(email: \"x@example.com\") }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            200,
            "a token view ignores it: {value:?}"
        );
    }
}
