//! Products and the admin's users: DRF-style permissions, Relay keyset
//! pagination, page numbers, filters, orderings, and setUserActive.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::helpers::products::{CREATE, create, seed};
use crate::helpers::{code, spawn_app};

const UPDATE: &str = "mutation($id: ID!, $i: UpdateProductInput!) { updateProduct(id: $id, input: $i) { id name priceCents } }";
const DELETE: &str = "mutation($id: ID!) { deleteProduct(id: $id) }";

#[tokio::test]
async fn anyone_reads_only_signed_in_users_write_and_only_owner_or_staff_change() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("own@example.com").await.bearer();
    let other = app.signed_in_user("other@example.com").await.bearer();
    let staff = app.staff_user("staff@example.com").await.bearer();
    let (_, body) = app
        .gql(CREATE, json!({ "i": { "name": "x", "priceCents": 1 } }))
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    let p = create(&app, &owner, json!({ "name": "  Mine  ", "priceCents": 5 })).await;
    assert_eq!(
        (
            p["name"].clone(),
            p["description"].clone(),
            p["inStock"].clone()
        ),
        (json!("Mine"), json!(""), json!(true))
    );
    let id = p["id"].as_str().unwrap();
    let (_, body) = app
        .gql(
            &format!("{{ product(id: \"{id}\") {{ name owner {{ id email }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["product"]["name"], "Mine");
    assert_eq!(
        body["data"]["product"]["owner"]["email"],
        Value::Null,
        "private to anonymous readers"
    );
    let (_, body) = app
        .gql_as(
            Some(&owner),
            &format!("{{ product(id: \"{id}\") {{ owner {{ email }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["product"]["owner"]["email"], "own@example.com");
    let (_, body) = app.gql_as(Some(&other), &format!("{{ product(id: \"{id}\") {{ owner {{ email phone lastLogin twoFactorEnabled twoFactorMethods recoveryCodesLeft }} }} }}"), json!({})).await;
    assert_eq!(
        body["data"]["product"]["owner"],
        json!({ "email": null, "phone": null, "lastLogin": null, "twoFactorEnabled": null, "twoFactorMethods": null, "recoveryCodesLeft": null })
    );
    let (_, body) = app
        .gql_as(
            Some(&staff),
            &format!("{{ product(id: \"{id}\") {{ owner {{ email }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["product"]["owner"]["email"], "own@example.com");

    let (_, body) = app
        .gql(UPDATE, json!({ "id": id, "i": { "name": "y" } }))
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    let (_, body) = app
        .gql_as(
            Some(&other),
            UPDATE,
            json!({ "id": id, "i": { "name": "y" } }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = app.gql_as(Some(&other), DELETE, json!({ "id": id })).await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = app
        .gql_as(
            Some(&owner),
            UPDATE,
            json!({ "id": id, "i": { "name": "Renamed", "priceCents": 7 } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateProduct"],
        json!({ "id": id, "name": "Renamed", "priceCents": 7 })
    );
    let (_, body) = app
        .gql_as(
            Some(&staff),
            UPDATE,
            json!({ "id": id, "i": { "priceCents": 8 } }),
        )
        .await;
    assert_eq!(body["data"]["updateProduct"]["priceCents"], 8);
    let missing = uuid::Uuid::new_v4().to_string();
    let (_, body) = app
        .gql_as(Some(&owner), UPDATE, json!({ "id": missing, "i": {} }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let (_, body) = app
        .gql_as(Some(&owner), DELETE, json!({ "id": "not-a-uuid" }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let (_, body) = app
        .gql(
            &format!("{{ product(id: \"{missing}\") {{ id }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["product"], Value::Null);
    assert!(body["errors"].is_null());
    let (_, body) = app.gql("{ product(id: \"nope\") { id } }", json!({})).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let (_, body) = app.gql_as(Some(&staff), DELETE, json!({ "id": id })).await;
    assert_eq!(body["data"]["deleteProduct"], true);
    let (_, body) = app.gql_as(Some(&owner), DELETE, json!({ "id": id })).await;
    assert_eq!(code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn product_input_is_validated() {
    let app = spawn_app().await;
    let user = app.signed_in_user("valid@example.com").await.bearer();
    for (input, field) in [
        (json!({ "name": "   ", "priceCents": 1 }), "name"),
        (json!({ "name": "x".repeat(201), "priceCents": 1 }), "name"),
        (json!({ "name": "ok", "priceCents": -1 }), "priceCents"),
        (
            json!({ "name": "ok", "priceCents": 1, "description": "d".repeat(10_001) }),
            "description",
        ),
    ] {
        let (_, body) = app.gql_as(Some(&user), CREATE, json!({ "i": input })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
        assert!(
            body["errors"][0]["extensions"]["fields"][field].is_array(),
            "{field}: {body}"
        );
    }
    let (_, body) = app.gql_as(Some(&user), CREATE, json!({ "i": { "name": "x".repeat(200), "priceCents": 0, "description": "d".repeat(10_000) } })).await;
    assert!(body["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn a_page_of_products_loads_its_owners_in_one_query() {
    let app = spawn_app().await;
    seed(&app).await;
    let measure = |first: i64| {
        let app = &app;
        async move {
            let before = app.queries.load(Ordering::SeqCst);
            let (_, body) = app
                .gql("query($n: Int) { products(first: $n) { edges { node { id owner { id username } } } } }", json!({ "n": first }))
                .await;
            assert_eq!(
                body["data"]["products"]["edges"].as_array().unwrap().len() as i64,
                first
            );
            app.queries.load(Ordering::SeqCst) - before
        }
    };
    // The gauge also counts the background workers' statements (the outbox
    // polls every second): the least of a few runs is the request's own.
    let (mut five, mut fifty) = (u64::MAX, u64::MAX);
    for _ in 0..3 {
        five = five.min(measure(5).await);
        fifty = fifty.min(measure(50).await);
    }
    assert_eq!(
        five, fifty,
        "the statements per page do not grow with the page"
    );
    assert!(fifty <= 2, "products, then owners: {fifty} statements");
    // Every way to reach a product's owner gets the owner, in as many
    // statements: through `nodes`, a fragment, an alias, a numbered page.
    for query in [
        "{ products(first: 5) { nodes { owner { id } } } }",
        "{ products(first: 5) { edges { node { ...P } } } } fragment P on Product { owner { id } }",
        "{ products(first: 5) { edges { node { o: owner { id } } } } }",
        "{ productsPage(pageSize: 5) { items { owner { id } } } }",
    ] {
        let mut least = u64::MAX;
        for _ in 0..3 {
            let before = app.queries.load(Ordering::SeqCst);
            let (_, body) = app.gql(query, json!({})).await;
            least = least.min(app.queries.load(Ordering::SeqCst) - before);
            let text = body.to_string();
            assert!(body["errors"].is_null(), "{query}: {text}");
            assert_eq!(
                text.matches("\"owner\"").count() + text.matches("\"o\"").count(),
                5,
                "{text}"
            );
        }
        assert!(least <= 2, "{query}: {least} statements");
    }
}
