//! On SQLite a new product's FTS5 row is no longer added by a trigger but
//! by the server, after the grouped writer's savepoints (`db::in_place`):
//! FTS5 writes what it holds to disk at every savepoint, and the trigger
//! fired inside the savepoint each insert runs under, so every product
//! wrote a segment of its own (`createProduct` cost 12–15 % more CPU with
//! the index than without). Updates and deletes keep their triggers
//! (migration 16): they are rare and run in transactions of their own.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared("DROP TRIGGER IF EXISTS products_search_insert")
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TRIGGER IF NOT EXISTS products_search_insert AFTER INSERT ON products BEGIN \
                 INSERT INTO products_search(rowid, name_fold, description_fold) \
                 VALUES (new.rowid, new.name_fold, new.description_fold); END",
            )
            .await
            .map(|_| ())
    }
}
