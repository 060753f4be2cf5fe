//! A provider sign-in into an account with a second factor links its
//! identity only when `verifyOtp` completes the sign-in (API.md §9.1 rule
//! 3): the challenge names the used social code that holds the identity.

use sea_orm_migration::{prelude::*, schema::*};

use crate::add_column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OneTimeCode {
    Table,
    LinkCodeId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            OneTimeCode::Table,
            uuid_null(OneTimeCode::LinkCodeId),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OneTimeCode::Table)
                    .drop_column(OneTimeCode::LinkCodeId)
                    .to_owned(),
            )
            .await
    }
}
