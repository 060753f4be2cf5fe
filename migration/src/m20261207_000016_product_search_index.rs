//! Product searches stop growing with the table (API.md §8.9): a trigram
//! index over the folded text on both databases. PostgreSQL gets `pg_trgm`
//! GIN indexes, which its planner uses for `LIKE '%…%'` as written; SQLite
//! gets an FTS5 table with the trigram tokenizer over the same two columns,
//! kept in step with `products` by triggers (external content: the text is
//! not stored twice) and asked by `MATCH` for terms of three characters or
//! more. The text is folded in Rust before it is stored, so the index is
//! case-sensitive and never folds again in a way Rust did not. It keeps no
//! positions or sizes (`detail=none`, `columnsize=0`): it only narrows,
//! the `LIKE` decides, and every product insert pays for what it keeps
//! (with positions, `createProduct` cost 15 % more than before the index).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    // Trusted since PostgreSQL 13: a database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS products_name_fold_trgm ON products USING gin (name_fold gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS products_description_fold_trgm ON products USING gin (description_fold gin_trgm_ops)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS products_description_fold_trgm",
    "DROP INDEX IF EXISTS products_name_fold_trgm",
];

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE products_search USING fts5(name_fold, description_fold, \
     content='products', content_rowid='rowid', tokenize='trigram case_sensitive 1', \
     detail='none', columnsize=0)",
    "CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN \
     INSERT INTO products_search(rowid, name_fold, description_fold) \
     VALUES (new.rowid, new.name_fold, new.description_fold); END",
    "CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN \
     INSERT INTO products_search(products_search, rowid, name_fold, description_fold) \
     VALUES ('delete', old.rowid, old.name_fold, old.description_fold); END",
    "CREATE TRIGGER products_search_update AFTER UPDATE OF name_fold, description_fold ON products BEGIN \
     INSERT INTO products_search(products_search, rowid, name_fold, description_fold) \
     VALUES ('delete', old.rowid, old.name_fold, old.description_fold); \
     INSERT INTO products_search(rowid, name_fold, description_fold) \
     VALUES (new.rowid, new.name_fold, new.description_fold); END",
    // Index what is already there.
    "INSERT INTO products_search(products_search) VALUES ('rebuild')",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS products_search_update",
    "DROP TRIGGER IF EXISTS products_search_delete",
    "DROP TRIGGER IF EXISTS products_search_insert",
    "DROP TABLE IF EXISTS products_search",
];

async fn run(manager: &SchemaManager<'_>, postgres: &[&str], sqlite: &[&str]) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DbBackend::Postgres => postgres,
        _ => sqlite,
    };
    for statement in statements {
        manager
            .get_connection()
            .execute_unprepared(statement)
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_DOWN, SQLITE_DOWN).await
    }
}
