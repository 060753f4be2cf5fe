//! What a search reads is bounded (API.md §8.9): a product's
//! `description_fold` keeps at most 10,000 characters, however far NFKC
//! expanded what was typed (ten thousand U+FDFA fold to 180,000).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `substr` and `length` count characters on both databases.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE products SET description_fold = substr(description_fold, 1, 10000) \
                 WHERE length(description_fold) > 10000",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The cut text is gone; the column keeps its type.
        Ok(())
    }
}
