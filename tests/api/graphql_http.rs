//! The HTTP rules of API.md §1 and §5: content types, sizes, batches, limits,
//! status codes under both response media types, and codes on every error.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{code, spawn_app, spawn_app_with};

const GRJ: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[tokio::test]
async fn a_query_executes_and_answers_in_the_accepted_media_type() {
    let app = spawn_app().await;
    let (status, ct, body) = app
        .post_accepting(r#"{"query":"{ __typename }"}"#, GRJ)
        .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with(GRJ), "{ct}");
    assert_eq!(body, json!({ "data": { "__typename": "Query" } }));
    let (status, ct, _) = app
        .post_accepting(r#"{"query":"{ __typename }"}"#, JSON)
        .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with(JSON), "{ct}");
}

#[tokio::test]
async fn a_missing_or_non_json_content_type_is_415() {
    let app = spawn_app().await;
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let mut headers = vec![("accept", JSON)];
        if let Some(ct) = ct {
            headers.push(("content-type", ct));
        }
        let resp = app
            .post_raw(r#"{"query":"{ __typename }"}"#, &headers)
            .await;
        assert_eq!(resp.status().as_u16(), 415, "{ct:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "BAD_REQUEST");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_also_when_chunked() {
    let app = spawn_app_with(&[("MAX_BODY_BYTES", "1024")]).await;
    let big = format!(
        r#"{{"query":"{{ __typename }}","variables":{{"pad":"{}"}}}}"#,
        "x".repeat(2000)
    );
    let resp = app.post_raw(big.clone(), &[("content-type", JSON)]).await;
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "BAD_REQUEST");

    // The same body with chunked transfer encoding and no Content-Length.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr
    );
    for chunk in big.as_bytes().chunks(500) {
        request.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            std::str::from_utf8(chunk).unwrap()
        ));
    }
    request.push_str("0\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Under the limit, chunked works.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let small = r#"{"query":"{ __typename }"}"#;
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{small}\r\n0\r\n\r\n",
        app.addr,
        small.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn malformed_json_and_bad_parameters_are_400_bad_request() {
    let app = spawn_app().await;
    for body in [
        "{",
        "not json",
        r#"{"query": 42}"#,
        r#"{"variables": {}}"#,
        r#"{"query":"{ __typename }","variables":"{}"}"#,
        r#"{"query":"{ __typename }","operationName":1}"#,
        "[]",
        "42",
    ] {
        for accept in [GRJ, JSON] {
            let (status, _, resp) = app.post_accepting(body, accept).await;
            assert_eq!(status, 400, "{body} / {accept}");
            assert_eq!(code(&resp), "BAD_REQUEST", "{body}");
            assert!(resp.get("data").is_none());
        }
    }
}

#[tokio::test]
async fn the_status_table_holds_under_both_media_types() {
    let app = spawn_app().await;
    // Parse failure: 400 with graphql-response+json, 200 with json; never a data key.
    let (s, _, b) = app.post_accepting(r#"{"query":"{ __typename"}"#, GRJ).await;
    assert_eq!((s, code(&b)), (400, "GRAPHQL_PARSE_FAILED"));
    assert!(b.get("data").is_none());
    let (s, _, b) = app
        .post_accepting(r#"{"query":"{ __typename"}"#, JSON)
        .await;
    assert_eq!((s, code(&b)), (200, "GRAPHQL_PARSE_FAILED"));
    assert!(b.get("data").is_none());
    // Validation failure.
    let (s, _, b) = app
        .post_accepting(r#"{"query":"{ noSuchField }"}"#, GRJ)
        .await;
    assert_eq!((s, code(&b)), (400, "GRAPHQL_VALIDATION_FAILED"));
    assert!(b.get("data").is_none());
    let (s, _, b) = app
        .post_accepting(r#"{"query":"{ noSuchField }"}"#, JSON)
        .await;
    assert_eq!((s, code(&b)), (200, "GRAPHQL_VALIDATION_FAILED"));
    // An unknown operation name is a validation failure too.
    let (s, _, b) = app
        .post_accepting(
            r#"{"query":"query A { __typename }","operationName":"B"}"#,
            GRJ,
        )
        .await;
    assert_eq!((s, code(&b)), (400, "GRAPHQL_VALIDATION_FAILED"));
    // Executed with a field error: 200 under both, data present.
    for accept in [GRJ, JSON] {
        let (s, _, b) = app
            .post_accepting(r#"{"query":"{ me { id } }"}"#, accept)
            .await;
        assert_eq!((s, code(&b)), (200, "UNAUTHENTICATED"));
        assert!(b.get("data").is_some());
    }
}

#[tokio::test]
async fn batches_answer_arrays_and_are_capped() {
    let app = spawn_app_with(&[("MAX_BATCH", "3")]).await;
    let (s, _, b) = app
        .post_accepting(
            r#"[{"query":"{ __typename }"},{"query":"{ a: __typename }"}]"#,
            GRJ,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!([{ "data": { "__typename": "Query" } }, { "data": { "a": "Query" } }])
    );
    // Each operation is answered on its own: a broken one does not spoil the others.
    let (s, _, b) = app
        .post_accepting(r#"[{"query":"{ __typename }"},{"query":"{"}]"#, GRJ)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        b[1]["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    let four = format!("[{}]", [r#"{"query":"{ __typename }"}"#; 4].join(","));
    let (s, _, b) = app.post_accepting(&four, GRJ).await;
    assert_eq!((s, code(&b)), (400, "BAD_REQUEST"));
}

#[tokio::test]
async fn depth_and_complexity_limits_are_validation_failures() {
    let app = spawn_app_with(&[("MAX_DEPTH", "3"), ("MAX_COMPLEXITY", "5")]).await;
    let deep = r#"{"query":"{ __schema { types { fields { type { name } } } } }"}"#;
    let (s, _, b) = app.post_accepting(deep, GRJ).await;
    assert_eq!((s, code(&b)), (400, "GRAPHQL_VALIDATION_FAILED"));
    let wide = r#"{"query":"{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename }"}"#;
    let (s, _, b) = app.post_accepting(wide, GRJ).await;
    assert_eq!((s, code(&b)), (400, "GRAPHQL_VALIDATION_FAILED"));
    let ok = r#"{"query":"{ a: __typename b: __typename }"}"#;
    assert_eq!(app.post_accepting(ok, GRJ).await.0, 200);
}

#[tokio::test]
async fn the_default_depth_admits_the_standard_introspection_query() {
    let app = spawn_app().await;
    let introspection = include_str!("introspection.graphql");
    let (s, _, b) = app
        .post_accepting(&json!({ "query": introspection }).to_string(), GRJ)
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["data"]["__schema"]["types"].is_array());
}

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations_with_405() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .header("accept", GRJ)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");

    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { __typename }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "BAD_REQUEST");

    let resp = app
        .client
        .get(app.url("/graphql"))
        .header("accept", JSON)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[tokio::test]
async fn browsers_get_graphiql_served_without_any_cdn() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"));
    let html = resp.text().await.unwrap();
    assert!(html.contains("/graphiql/graphiql.min.js"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "external reference in {html}"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "init.js",
    ] {
        let resp = app
            .client
            .get(app.url(&format!("/graphiql/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{asset}");
    }
    let resp = app
        .client
        .get(app.url("/graphiql/../Cargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn graphiql_and_introspection_are_off_when_disabled() {
    let app = spawn_app_with(&[("GRAPHIQL", "false")]).await;
    let resp = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.status().as_u16(), 200);
    // Refused loudly (API.md §8.1), not a silent null, under both media types.
    for (query, accept, status) in [
        (
            r#"{"query":"{ __schema { queryType { name } } }"}"#,
            GRJ,
            400,
        ),
        (
            r#"{"query":"{ __type(name: \"User\") { name } }"}"#,
            JSON,
            200,
        ),
    ] {
        let (s, _, b) = app.post_accepting(query, accept).await;
        assert_eq!(s, status, "{b}");
        assert_eq!(code(&b), "GRAPHQL_VALIDATION_FAILED", "{b}");
        assert!(b.get("data").is_none(), "{b}");
    }
    // Ordinary queries still run.
    let (s, _, b) = app
        .post_accepting(r#"{"query":"{ __typename }"}"#, GRJ)
        .await;
    assert_eq!((s, &b["data"]["__typename"]), (200, &json!("Query")), "{b}");
}

#[tokio::test]
async fn an_authorization_header_that_does_not_authenticate_fails_the_whole_request() {
    let app = spawn_app().await;
    for credentials in [
        "Bearer not-a-jwt",
        "Token nope",
        "Basic dXNlcjpwYXNz",
        "garbage",
    ] {
        let resp = app
            .post_raw(
                r#"{"query":"{ __typename }"}"#,
                &[("content-type", JSON), ("authorization", credentials)],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 401, "{credentials}");
        assert_eq!(
            resp.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "UNAUTHENTICATED");
    }
    // A batch gets the error once per operation.
    let resp = app
        .post_raw(
            r#"[{"query":"{ __typename }"},{"query":"{ __typename }"}]"#,
            &[("content-type", JSON), ("authorization", "Bearer x")],
        )
        .await;
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_list_costs_its_page_size_times_its_selection() {
    let app = spawn_app_with(&[("MAX_COMPLEXITY", "100")]).await;
    let (s, _, b) = app
        .post_accepting(
            r#"{"query":"{ products(first: 50) { nodes { id name } } }"}"#,
            GRJ,
        )
        .await;
    assert_eq!((s, code(&b)), (400, "GRAPHQL_VALIDATION_FAILED"));
    let (s, _, b) = app
        .post_accepting(
            r#"{"query":"{ products(first: 5) { nodes { id name } } }"}"#,
            GRJ,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, _, b) = app
        .post_accepting(
            r#"{"query":"{ productsPage(pageSize: 60) { items { id } } }"}"#,
            GRJ,
        )
        .await;
    assert_eq!((s, code(&b)), (400, "GRAPHQL_VALIDATION_FAILED"));
}
