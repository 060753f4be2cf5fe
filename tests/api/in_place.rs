//! The one data API for hot statements (`authql::db::Hot`) behaves as the
//! pool does, also where it bypasses sqlx on SQLite: reads return exactly
//! what SeaORM reads from the same rows, nulls included; grouped inserts
//! commit each row or fail it alone; and a broken constraint is classified
//! by `db::sql_err` as on the pool. On PostgreSQL `Hot` runs SeaORM's
//! statements on connections of its own (`db::direct`), and the same
//! assertions hold. On SQLite the grouped commits are moved
//! into the database file by a checkpoint thread of its own, soon after.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use authql::db::{self, Hot};
use entity::{api_token, product, session, user};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn in_place_reads_match_the_pool_row_for_row() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("reads-owner@example.com").await;
    let auth = owner.bearer();
    // A second session, and one that is revoked, so null and set
    // timestamps both occur.
    app.login("reads-owner@example.com", crate::helpers::PASSWORD)
        .await;
    app.gql_as(
        Some(&auth),
        "mutation { createApiToken(name: \"ci\", expiresInDays: 3) { token } }",
        json!({}),
    )
    .await;
    app.gql_as(
        Some(&auth),
        "mutation { createApiToken(name: \"forever\") { token } }",
        json!({}),
    )
    .await;
    for i in 0..7 {
        let (_, body) = app
            .gql_as(
                Some(&auth),
                "mutation($i: CreateProductInput!) { createProduct(input: $i) { id } }",
                json!({ "i": { "name": format!("Ünïcode naïve {i}"), "priceCents": i * 250, "inStock": i % 2 == 0, "description": if i % 3 == 0 { String::new() } else { format!("line one\nline {i}") } } }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    app.gql_as(Some(&auth), "mutation { logout }", json!({}))
        .await;

    let db = app.db_conn().await;
    let reader = hot(&app.db.url, &db);
    same_rows(&reader, &db).await;
}

fn hot(url: &str, db: &DatabaseConnection) -> Hot {
    Hot::new(
        url,
        db,
        Arc::new(AtomicU64::new(0)),
        std::time::Duration::from_secs(2),
        false,
    )
    .expect("open the hot connection")
}

async fn same_rows(reader: &Hot, db: &DatabaseConnection) {
    let users = user::Entity::find().order_by_asc(user::Column::Id);
    assert_eq!(
        reader.all(users.clone()).await.unwrap(),
        users.all(db).await.unwrap()
    );

    let products = product::Entity::find()
        .filter(product::Column::PriceCents.gte(250))
        .order_by_desc(product::Column::CreatedAt)
        .order_by_desc(product::Column::Id);
    let in_place = reader.all(products.clone().limit(4)).await.unwrap();
    assert_eq!(in_place.len(), 4);
    assert_eq!(in_place, products.clone().limit(4).all(db).await.unwrap());
    assert_eq!(
        reader.count(products.clone()).await.unwrap(),
        products.count(db).await.unwrap()
    );

    let sessions = session::Entity::find().order_by_asc(session::Column::Id);
    let all_sessions = sessions.clone().all(db).await.unwrap();
    assert!(all_sessions.iter().any(|s| s.revoked_at.is_some()));
    assert!(all_sessions.iter().any(|s| s.revoked_at.is_none()));
    assert_eq!(reader.all(sessions).await.unwrap(), all_sessions);
    for s in &all_sessions {
        let joined = session::Entity::find_by_id(s.id).find_also_related(user::Entity);
        let expected = joined.clone().one(db).await.unwrap();
        assert_eq!(reader.one_also(joined).await.unwrap(), expected);
        // Built once, then only the key changes from one session to the next.
        let keyed = reader
            .one_also_by_id(s.id, |id| {
                session::Entity::find_by_id(id).find_also_related(user::Entity)
            })
            .await
            .unwrap();
        assert_eq!(keyed, expected);
    }

    let tokens = api_token::Entity::find().order_by_asc(api_token::Column::Id);
    let all_tokens = tokens.clone().all(db).await.unwrap();
    assert!(all_tokens.iter().any(|t| t.expires_at.is_none()));
    assert!(all_tokens.iter().any(|t| t.expires_at.is_some()));
    assert_eq!(reader.all(tokens).await.unwrap(), all_tokens);

    let missing = session::Entity::find_by_id(uuid::Uuid::now_v7()).find_also_related(user::Entity);
    assert_eq!(reader.one_also(missing).await.unwrap(), None);
    assert_eq!(
        reader
            .one(product::Entity::find_by_id(uuid::Uuid::now_v7()))
            .await
            .unwrap(),
        None
    );
}

fn new_product(owner: uuid::Uuid, name: &str) -> product::ActiveModel {
    let now = authql::db::now();
    product::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        owner_id: Set(owner),
        name: Set(name.to_owned()),
        name_fold: Set(name.to_lowercase()),
        description: Set(String::new()),
        description_fold: Set(String::new()),
        price_cents: Set(100),
        in_stock: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        organization_id: Set(None),
    }
}

#[tokio::test]
async fn grouped_inserts_commit_each_row_and_fail_a_bad_one_alone() {
    let app = spawn_app().await;
    app.signed_in_user("writer-owner@example.com").await;
    let db = app.db_conn().await;
    let owner = user::Entity::find().one(&db).await.unwrap().unwrap().id;
    let writer = hot(&app.db.url, &db);

    // Sixty at once, so they are committed in groups; every fifth names an
    // owner that does not exist, which the foreign key refuses.
    let attempts = (0..60).map(|i| {
        let writer = writer.clone();
        let owner = if i % 5 == 0 {
            uuid::Uuid::now_v7()
        } else {
            owner
        };
        tokio::spawn(async move {
            writer
                .insert(new_product(owner, &format!("grouped {i}")))
                .await
        })
    });
    let mut stored = Vec::new();
    for (i, attempt) in attempts.enumerate() {
        match attempt.await.unwrap() {
            Ok(model) => {
                assert_ne!(i % 5, 0, "a product of no one was stored");
                stored.push(model);
            }
            Err(_) => assert_eq!(i % 5, 0, "insert {i} failed"),
        }
    }
    assert_eq!(stored.len(), 48);
    // What the writer returned is what every other connection now reads.
    for model in &stored {
        let read = product::Entity::find_by_id(model.id)
            .one(&db)
            .await
            .unwrap();
        assert_eq!(read.as_ref(), Some(model));
    }
    assert_eq!(product::Entity::find().count(&db).await.unwrap(), 48);
}

/// Rows the writer commits reach the database file itself, not only the
/// WAL, without a commit having to run the checkpoint: twenty inserts are
/// far below SQLite's automatic checkpoint of 1,000 WAL pages.
#[tokio::test]
async fn grouped_inserts_are_checkpointed_into_the_database_file() {
    let app = spawn_app().await;
    let Some(file) = app.db.sqlite_file() else {
        return; // PostgreSQL: no WAL file to look past.
    };
    app.signed_in_user("checkpoint-owner@example.com").await;
    let db = app.db_conn().await;
    let owner = user::Entity::find().one(&db).await.unwrap().unwrap().id;
    let writer = hot(&app.db.url, &db);
    for i in 0..20 {
        writer
            .insert(new_product(owner, &format!("checkpointed {i}")))
            .await
            .expect("insert");
    }

    // Read a copy of the database file alone: what it holds was checkpointed.
    // A copy taken while a checkpoint writes may be torn; that counts as
    // not yet.
    let scratch = app.db.scratch_dir("checkpoint");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for attempt in 0.. {
        let copy = scratch.join(format!("main-only-{attempt}.db"));
        let rows = std::fs::copy(&file, &copy).ok().and_then(|_| {
            rusqlite::Connection::open(&copy)
                .and_then(|c| c.query_row("SELECT count(*) FROM products", [], |r| r.get(0)))
                .ok()
        });
        if rows == Some(20_i64) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the database file holds {rows:?} of the 20 committed rows"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A future unique column behaves on the in-place writer as on the pool: the
/// error is classified as a unique violation (so a service answers the right
/// field error, not INTERNAL_SERVER_ERROR), and nothing is stored.
#[tokio::test]
async fn a_taken_unique_value_is_classified_alike_on_both_paths() {
    let app = spawn_app().await;
    app.signed_in_user("unique-owner@example.com").await;
    let db = app.db_conn().await;
    let taken = user::Entity::find().one(&db).await.unwrap().unwrap();
    let mut twin: user::ActiveModel = taken.clone().into();
    twin.id = Set(uuid::Uuid::now_v7());
    let hot = hot(&app.db.url, &db);
    let err = hot
        .insert(twin)
        .await
        .expect_err("a second account for one address");
    assert!(
        matches!(
            db::sql_err(&err),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ),
        "{err:?}"
    );
    assert_eq!(user::Entity::find().count(&db).await.unwrap(), 1);
}
