//! Searches whose per-row work is bounded (API.md §8.9): stored text that
//! NFKC expands eighteen-fold (U+FDFA) held SQLite's serving threads for
//! seconds inside one VM step, past `QUERY_TIMEOUT`; names that NFKC
//! expands past their column were an internal error on PostgreSQL.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{code, products, spawn_app_with};

/// U+FDFA: one character that NFKC makes eighteen.
const GROWS: &str = "\u{FDFA}";

#[tokio::test]
async fn names_and_searches_are_measured_after_nfkc() {
    let app = spawn_app_with(&[]).await;
    let owner = app.signed_in_user("nfkc@example.com").await.bearer();
    let (_, body) = app
        .gql_as(
            Some(&owner),
            "mutation($i: CreateProductInput!) { createProduct(input: $i) { id } }",
            json!({ "i": { "name": GROWS.repeat(20), "priceCents": 1 } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["extensions"]["fields"]["name"].is_array(),
        "{body}"
    );
    let (_, body) = app
        .gql(
            "query($s: String) { productsPage(filter: {search: $s}) { totalCount } }",
            json!({ "s": GROWS.repeat(10) }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["extensions"]["fields"]["search"].is_array(),
        "{body}"
    );
}

/// The review's stall: descriptions of 10,000 × U+FDFA and a search whose
/// every start matches ninety characters before it fails. `/healthz` and
/// `me` keep answering, and the searches end by `QUERY_TIMEOUT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eighteen_fold_text_stalls_neither_healthz_nor_me() {
    let app = spawn_app_with(&[("QUERY_TIMEOUT", "1s")]).await;
    let user = app.signed_in_user("stall@example.com").await;
    products::create(
        &app,
        &user.bearer(),
        json!({ "name": "Blessing", "priceCents": 1, "description": GROWS.repeat(10_000) }),
    )
    .await;
    products::copy(&app, "Blessing", 200).await;

    let hostile: String = format!("{}x", authql::domain::fold(&GROWS.repeat(5)));
    let search = json!({
        "query": "query($s: String) { productsPage(pageSize: 1, filter: {search: $s}) { totalCount } }",
        "variables": { "s": hostile },
    });
    let mut searches = Vec::new();
    for _ in 0..2 {
        let (client, url, body) = (app.client.clone(), app.url("/graphql"), search.clone());
        searches.push(tokio::spawn(async move {
            let began = Instant::now();
            let answer: Value = client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (began.elapsed(), answer)
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let began = Instant::now();
        let health = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let (_, me) = app
            .gql_as(Some(&user.bearer()), "{ me { id } }", json!({}))
            .await;
        assert!(me["data"]["me"]["id"].is_string(), "{me}");
        slowest = slowest.max(began.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for search in searches {
        let (took, answer) = search.await.unwrap();
        let counted = answer["data"]["productsPage"]["totalCount"] == 0;
        assert!(
            counted || code(&answer) == "SERVICE_UNAVAILABLE",
            "{answer}"
        );
        assert!(
            took < Duration::from_secs(3),
            "a search ran {took:?} past QUERY_TIMEOUT"
        );
    }
    // The contract's 100 ms, with room for a loaded two-core CI machine.
    assert!(
        slowest < Duration::from_millis(750),
        "healthz + me took {slowest:?}"
    );
}
