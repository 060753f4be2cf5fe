//! Product searches through the trigram index (migration 16): what a search
//! finds follows every create, rename, edit and delete, and a term the index
//! cannot hold (shorter than a trigram, quotes, wildcards) matches as
//! literally as before, on both databases.

use serde_json::{Value, json};

use crate::helpers::{TestApp, orgs, products, spawn_app_with};

async fn found(app: &TestApp, search: &str) -> Vec<String> {
    let (_, body) = app
        .gql(
            "query($s: String) { productsPage(pageSize: 100, filter: {search: $s}) { items { name } totalCount } }",
            json!({ "s": search }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let mut names: Vec<String> = body["data"]["productsPage"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(body["data"]["productsPage"]["totalCount"], names.len());
    names
}

/// `found`, as the holder of `auth` sees it.
async fn found_as(app: &TestApp, auth: &str, search: &str) -> usize {
    let (_, body) = app
        .gql_as(
            Some(auth),
            "query($s: String) { productsPage(pageSize: 100, filter: {search: $s}) { totalCount } }",
            json!({ "s": search }),
        )
        .await;
    body["data"]["productsPage"]["totalCount"]
        .as_u64()
        .unwrap_or_else(|| panic!("{body}")) as usize
}

async fn mutate(app: &TestApp, auth: &str, mutation: &str, variables: Value) {
    let (_, body) = app.gql_as(Some(auth), mutation, variables).await;
    assert!(body["errors"].is_null(), "{body}");
}

async fn edit(app: &TestApp, auth: &str, id: &Value, input: Value) {
    let update =
        "mutation($id: ID!, $i: UpdateProductInput!) { updateProduct(id: $id, input: $i) { id } }";
    mutate(app, auth, update, json!({ "id": id, "i": input })).await;
}

#[tokio::test]
async fn the_index_follows_every_change() {
    let app = spawn_app_with(&[]).await;
    let owner = app.signed_in_user("index@example.com").await.bearer();
    let lamp = products::create(
        &app,
        &owner,
        json!({ "name": "Brass lamp", "priceCents": 1, "description": "Warm light" }),
    )
    .await;
    products::create(&app, &owner, json!({ "name": "Oak desk", "priceCents": 2 })).await;
    products::copy(&app, "Oak desk", 50).await;
    assert_eq!(found(&app, "BRASS").await, vec!["Brass lamp"]);
    assert_eq!(
        found(&app, "arm li").await,
        vec!["Brass lamp"],
        "description"
    );
    assert_eq!(
        found(&app, "oak desk").await.len(),
        51,
        "copied rows indexed"
    );

    edit(
        &app,
        &owner,
        &lamp["id"],
        json!({ "name": "Copper lantern" }),
    )
    .await;
    assert!(
        found(&app, "brass").await.is_empty(),
        "the old name is gone"
    );
    assert_eq!(found(&app, "lantern").await, vec!["Copper lantern"]);
    assert_eq!(found(&app, "warm").await, vec!["Copper lantern"]);

    edit(
        &app,
        &owner,
        &lamp["id"],
        json!({ "description": "Cold glow" }),
    )
    .await;
    assert!(found(&app, "warm").await.is_empty(), "the old text is gone");
    assert_eq!(found(&app, "d glo").await, vec!["Copper lantern"]);

    let delete = "mutation($id: ID!) { deleteProduct(id: $id) }";
    mutate(&app, &owner, delete, json!({ "id": lamp["id"] })).await;
    assert!(found(&app, "lantern").await.is_empty());
}

#[tokio::test]
async fn terms_the_index_cannot_hold_match_literally() {
    let app = spawn_app_with(&[]).await;
    let owner = app.signed_in_user("literal@example.com").await.bearer();
    for name in [
        r#"The "quoted" one"#,
        "Plain one",
        "ab",
        "100% cotton",
        "a_b*c",
        "Stainless steel kettle",
    ] {
        products::create(&app, &owner, json!({ "name": name, "priceCents": 1 })).await;
    }
    assert_eq!(
        found(&app, r#""quoted""#).await,
        vec![r#"The "quoted" one"#]
    );
    assert_eq!(found(&app, r#"d" o"#).await, vec![r#"The "quoted" one"#]);
    assert_eq!(
        found(&app, "ab").await,
        vec!["ab"],
        "shorter than a trigram"
    );
    assert_eq!(found(&app, "b").await, vec!["a_b*c", "ab"]);
    assert_eq!(found(&app, "0% c").await, vec!["100% cotton"]);
    assert!(found(&app, "1%0").await.is_empty(), "% is literal");
    assert_eq!(
        found(&app, "_b*").await,
        vec!["a_b*c"],
        "_ and * are literal"
    );
    assert!(found(&app, "a b").await.is_empty());
    // The index is asked for a term's start; the whole term decides.
    let kettle = vec!["Stainless steel kettle".to_owned()];
    assert_eq!(found(&app, "stainless steel kettle").await, kettle);
    assert!(found(&app, "stainless steel pot").await.is_empty());
    assert!(
        found(&app, "one OR plain").await.is_empty(),
        "no FTS5 syntax"
    );
    assert!(found(&app, "NEAR(one)").await.is_empty());
}

/// Every way a product is inserted indexes it: many at once through the
/// grouped writer (on SQLite the index rows go in after the group's
/// savepoints, migration 23), and an organization's, inside a transaction
/// of its own.
#[tokio::test]
async fn products_inserted_together_or_in_an_organization_are_found() {
    let app = spawn_app_with(&[]).await;
    let owner = app.signed_in_user("grouped@example.com").await;
    let bearer = owner.bearer();
    let made = (0..12).map(|i| {
        let (app, bearer) = (&app, bearer.clone());
        async move {
            let name = format!("Pine stool {i}");
            let input =
                json!({ "name": name, "priceCents": i, "description": format!("grain {i}") });
            products::create(app, &bearer, input).await
        }
    });
    futures_util::future::join_all(made).await;
    assert_eq!(found(&app, "pine stool").await.len(), 12);
    assert_eq!(found(&app, "grain 7").await, vec!["Pine stool 7"]);

    let org = orgs::create(&app, &owner, "Index Co").await;
    let member = orgs::activate(&app, &owner, Some(&org)).await.bearer();
    products::create(
        &app,
        &member,
        json!({ "name": "Walnut shelf", "priceCents": 3 }),
    )
    .await;
    assert_eq!(found_as(&app, &member, "walnut").await, 1);
    assert_eq!(found_as(&app, &member, "pine stool").await, 12);
}
