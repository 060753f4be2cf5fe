//! Relay keyset and page-number pagination over products: every row once,
//! in every ordering, under inserts and deletes, with every limit checked.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::helpers::products::{Row, create, seed};
use crate::helpers::{TestApp, code, spawn_app};

const DELETE: &str = "mutation($id: ID!) { deleteProduct(id: $id) }";
const PAGE_QUERY: &str = "query($first: Int, $after: String, $last: Int, $before: String, $filter: ProductFilter, $order: ProductOrder) { products(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $order) { edges { cursor node { id name priceCents createdAt } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

fn expected(rows: &[Row], field: &str, desc: bool) -> Vec<String> {
    let mut sorted = rows.to_vec();
    sorted.sort_by(|x, y| {
        let key = match field {
            "NAME" => x.name.to_lowercase().cmp(&y.name.to_lowercase()),
            "PRICE" => x.price.cmp(&y.price),
            _ => chrono::DateTime::parse_from_rfc3339(&x.created)
                .unwrap()
                .cmp(&chrono::DateTime::parse_from_rfc3339(&y.created).unwrap()),
        };
        key.then_with(|| x.id.cmp(&y.id))
    });
    if desc {
        sorted.reverse();
    }
    sorted.into_iter().map(|r| r.id).collect()
}

async fn page(app: &TestApp, vars: Value) -> Value {
    let (_, body) = app.gql(PAGE_QUERY, vars).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["products"].clone()
}

fn ids(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn forward_and_backward_paging_returns_every_row_once_in_every_ordering() {
    let app = spawn_app().await;
    let (rows, _, _) = seed(&app).await;
    for field in ["CREATED_AT", "NAME", "PRICE"] {
        for dir in ["ASC", "DESC"] {
            let order = json!({ "field": field, "direction": dir });
            let want = expected(&rows, field, dir == "DESC");
            // Forward.
            let mut got = Vec::new();
            let mut after = Value::Null;
            let mut first_page = true;
            loop {
                let conn = page(&app, json!({ "first": 10, "after": after, "order": order })).await;
                assert_eq!(
                    conn["pageInfo"]["hasPreviousPage"], !first_page,
                    "{field} {dir}"
                );
                first_page = false;
                got.extend(ids(&conn));
                if conn["pageInfo"]["hasNextPage"] == false {
                    break;
                }
                after = conn["pageInfo"]["endCursor"].clone();
            }
            assert_eq!(got, want, "forward {field} {dir}");
            // Backward.
            let mut got = Vec::new();
            let mut before = Value::Null;
            loop {
                let conn = page(
                    &app,
                    json!({ "last": 10, "before": before, "order": order }),
                )
                .await;
                let mut chunk = ids(&conn);
                chunk.extend(got);
                got = chunk;
                if conn["pageInfo"]["hasPreviousPage"] == false {
                    break;
                }
                before = conn["pageInfo"]["startCursor"].clone();
            }
            assert_eq!(got, want, "backward {field} {dir}");
        }
    }
}

#[tokio::test]
async fn rows_inserted_or_deleted_between_pages_are_neither_repeated_nor_skipped() {
    let app = spawn_app().await;
    let (rows, a, _) = seed(&app).await;
    let first = page(&app, json!({ "first": 20 })).await;
    let seen: Vec<String> = ids(&first);
    // A new row lands before the cursor (newest first); one not yet seen goes away.
    create(&app, &a, json!({ "name": "late arrival", "priceCents": 1 })).await;
    let want = expected(&rows, "CREATED_AT", true);
    let gone = want[30].clone();
    let (_, body) = app.gql_as(Some(&a), DELETE, json!({ "id": gone })).await;
    if body["errors"].is_array() {
        // Owned by b: let staff-less b-owner path aside, delete as its owner instead.
        let b = app
            .login("owner-b@example.com", crate::helpers::PASSWORD)
            .await["data"]["login"]["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, body) = app
            .gql_as(Some(&format!("Bearer {b}")), DELETE, json!({ "id": gone }))
            .await;
        assert_eq!(body["data"]["deleteProduct"], true, "{body}");
    }
    let mut rest = Vec::new();
    let mut after = first["pageInfo"]["endCursor"].clone();
    loop {
        let conn = page(&app, json!({ "first": 20, "after": after })).await;
        rest.extend(ids(&conn));
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    let mut all: Vec<String> = seen.clone();
    all.extend(rest);
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "no row twice");
    let expected_rest: Vec<String> = want.into_iter().filter(|id| *id != gone).collect();
    assert_eq!(
        all, expected_rest,
        "every remaining original row once, in order"
    );
}

#[tokio::test]
async fn page_numbers_totals_and_a_page_past_the_end() {
    let app = spawn_app().await;
    let (rows, _, _) = seed(&app).await;
    let q = "query($p: Int!, $s: Int!) { productsPage(page: $p, pageSize: $s, orderBy: {field: PRICE, direction: ASC}) { items { id } page pageSize totalCount totalPages hasNextPage hasPreviousPage } }";
    let (_, body) = app.gql(q, json!({ "p": 3, "s": 20 })).await;
    let p = &body["data"]["productsPage"];
    assert_eq!(
        (
            p["page"].clone(),
            p["pageSize"].clone(),
            p["totalCount"].clone(),
            p["totalPages"].clone()
        ),
        (json!(3), json!(20), json!(57), json!(3))
    );
    assert_eq!(p["items"].as_array().unwrap().len(), 17);
    assert_eq!(
        (p["hasNextPage"].clone(), p["hasPreviousPage"].clone()),
        (json!(false), json!(true))
    );
    let want = expected(&rows, "PRICE", false);
    let got: Vec<&str> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        want[40..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let (_, body) = app.gql(q, json!({ "p": 100, "s": 20 })).await;
    let p = &body["data"]["productsPage"];
    assert_eq!(p["items"], json!([]));
    assert_eq!(
        (
            p["totalCount"].clone(),
            p["totalPages"].clone(),
            p["hasNextPage"].clone()
        ),
        (json!(57), json!(3), json!(false))
    );
    // totalCount is computed only when asked: the same page without it runs one statement fewer.
    let before = app.queries.load(Ordering::SeqCst);
    app.gql("{ productsPage(page: 2) { items { id } } }", json!({}))
        .await;
    let without = app.queries.load(Ordering::SeqCst) - before;
    let before = app.queries.load(Ordering::SeqCst);
    app.gql(
        "{ productsPage(page: 2) { items { id } totalCount totalPages } }",
        json!({}),
    )
    .await;
    let with = app.queries.load(Ordering::SeqCst) - before;
    assert_eq!(
        with,
        without + 1,
        "one count for both totals, none when not asked"
    );
}

#[tokio::test]
async fn every_pagination_limit_is_bad_user_input() {
    let app = spawn_app().await;
    let (rows, _, _) = seed(&app).await;
    let _ = rows;
    let other_order = page(
        &app,
        json!({ "first": 1, "order": { "field": "NAME", "direction": "ASC" } }),
    )
    .await["pageInfo"]["endCursor"]
        .clone();
    let desc_cursor = page(
        &app,
        json!({ "first": 1, "order": { "field": "NAME", "direction": "DESC" } }),
    )
    .await["pageInfo"]["endCursor"]
        .clone();
    let cursor = page(&app, json!({ "first": 1 })).await["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tampered = cursor.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    for vars in [
        json!({ "first": 0 }),
        json!({ "first": 101 }),
        json!({ "last": -1 }),
        json!({ "first": 5, "last": 5 }),
        json!({ "first": 5, "after": "garbage" }),
        json!({ "first": 5, "after": String::from_utf8(tampered).unwrap() }),
        json!({ "first": 5, "after": other_order }),
        json!({ "first": 5, "after": desc_cursor, "order": { "field": "NAME", "direction": "ASC" } }),
        json!({ "first": 5, "before": "x".repeat(5000) }),
    ] {
        let (_, body) = app.gql(PAGE_QUERY, vars.clone()).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{vars}: {body}");
    }
    for (p, s) in [(0, 20), (1, 0), (1, 101), (-5, 20)] {
        let (_, body) = app
            .gql(
                "query($p: Int!, $s: Int!) { productsPage(page: $p, pageSize: $s) { page } }",
                json!({ "p": p, "s": s }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "page {p} size {s}");
    }
}

#[tokio::test]
async fn filters_alone_and_combined() {
    let app = spawn_app().await;
    let user = app.signed_in_user("filters@example.com").await.bearer();
    let other = app.signed_in_user("filters-other@example.com").await;
    create(
        &app,
        &user,
        json!({ "name": "Éclair au chocolat", "priceCents": 350, "description": "Pastry" }),
    )
    .await;
    create(
        &app,
        &user,
        json!({ "name": "50% off_sale", "priceCents": 100, "inStock": false }),
    )
    .await;
    create(
        &app,
        &user,
        json!({ "name": "Plain bread", "priceCents": 200, "description": "50 grams of ÉCLAT" }),
    )
    .await;
    let theirs = create(
        &app,
        &other.bearer(),
        json!({ "name": "Their éclair", "priceCents": 900 }),
    )
    .await;
    let names = |filter: Value| {
        let app = &app;
        async move {
            let (_, body) = app
                .gql("query($f: ProductFilter) { products(first: 100, filter: $f, orderBy: {field: NAME, direction: ASC}) { nodes { name } totalCount } }", json!({ "f": filter }))
                .await;
            assert!(body["errors"].is_null(), "{body}");
            let mut names: Vec<String> = body["data"]["products"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            assert_eq!(body["data"]["products"]["totalCount"], names.len());
            names
        }
    };
    assert_eq!(
        names(json!({ "search": "ÉCLAIR" })).await,
        vec!["Their éclair", "Éclair au chocolat"]
    );
    assert_eq!(
        names(json!({ "search": "écla" })).await.len(),
        3,
        "name or description"
    );
    assert_eq!(
        names(json!({ "search": "50%" })).await,
        vec!["50% off_sale"]
    );
    assert_eq!(
        names(json!({ "search": "f_s" })).await,
        vec!["50% off_sale"],
        "_ is literal"
    );
    assert!(
        names(json!({ "search": "o_f" })).await.is_empty(),
        "_ is not a wildcard"
    );
    assert_eq!(
        names(json!({ "minPriceCents": 300 })).await,
        vec!["Their éclair", "Éclair au chocolat"]
    );
    assert_eq!(
        names(json!({ "maxPriceCents": 200 })).await,
        vec!["50% off_sale", "Plain bread"]
    );
    assert_eq!(
        names(json!({ "inStock": false })).await,
        vec!["50% off_sale"]
    );
    assert_eq!(
        names(json!({ "ownerId": other.id })).await,
        vec!["Their éclair"]
    );
    let created = theirs["createdAt"].as_str().unwrap();
    assert_eq!(
        names(json!({ "createdAfter": created })).await,
        Vec::<String>::new()
    );
    assert_eq!(names(json!({ "createdBefore": created })).await.len(), 3);
    assert_eq!(
        names(json!({ "search": "éclair", "maxPriceCents": 500, "inStock": true })).await,
        vec!["Éclair au chocolat"]
    );
    let (_, body) = app
        .gql(
            "{ products(filter: {ownerId: \"nope\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
}
