//! Products as a client makes them, for the tests of lists and permissions.

use serde_json::{Value, json};

use super::TestApp;

pub const CREATE: &str = "mutation($i: CreateProductInput!) { createProduct(input: $i) { id organizationId name description priceCents inStock owner { id } createdAt } }";

/// A product as created, for computing the order a list must have.
#[derive(Clone, Debug)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub price: i64,
    pub created: String,
}

pub async fn create(app: &TestApp, auth: &str, input: Value) -> Value {
    let (_, body) = app.gql_as(Some(auth), CREATE, json!({ "i": input })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createProduct"].clone()
}

/// 57 products with ties in name and price, by two owners.
pub async fn seed(app: &TestApp) -> (Vec<Row>, String, String) {
    let a = app.signed_in_user("owner-a@example.com").await.bearer();
    let b = app.signed_in_user("owner-b@example.com").await.bearer();
    let mut rows = Vec::new();
    for i in 0..57 {
        let auth = if i % 3 == 0 { &b } else { &a };
        let name = format!(
            "{} item {}",
            ["Apple", "banana", "Cherry", "apple"][i % 4],
            i % 7
        );
        let p = create(app, auth, json!({ "name": name, "priceCents": (i % 5) * 100, "inStock": i % 2 == 0, "description": format!("batch {}", i % 3) })).await;
        rows.push(Row {
            id: p["id"].as_str().unwrap().to_owned(),
            name: p["name"].as_str().unwrap().to_owned(),
            price: p["priceCents"].as_i64().unwrap(),
            created: p["createdAt"].as_str().unwrap().to_owned(),
        });
    }
    (rows, a, b)
}

/// Copies the product named `name` `copies` times, in the database (a
/// client would need thousands of requests): for tables big enough to scan.
pub async fn copy(app: &TestApp, name: &str, copies: u32) {
    let new_id = if app.db.is_postgres() {
        "gen_random_uuid()"
    } else {
        "randomblob(16)"
    };
    let sql = format!(
        "INSERT INTO products (id, owner_id, name, name_fold, description, description_fold, \
         price_cents, in_stock, created_at, updated_at) \
         SELECT {new_id}, owner_id, name, name_fold, description, description_fold, price_cents, \
         in_stock, created_at, updated_at FROM products, \
         (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {copies}) \
          SELECT i FROM n) AS copies WHERE products.name = '{name}'"
    );
    use sea_orm::ConnectionTrait;
    let db = app.db_conn().await;
    db.execute_unprepared(&sql).await.expect("copy the product");
    if !app.db.is_postgres() {
        // Rows written by SQL outside the server: SQLite's search index is
        // rebuilt (the server adds the rows it inserts itself).
        db.execute_unprepared("INSERT INTO products_search(products_search) VALUES ('rebuild')")
            .await
            .expect("rebuild the search index");
    }
    db.close().await.ok();
}
