//! A user's pending change of address (API.md §8.5): one row per user, the
//! newest request. The mailed link is a Django-style HMAC bound to this
//! row's address and time; once used, the link's digest stays so a link
//! opened again answers "changed".

use sea_orm_migration::{prelude::*, schema::*};

use crate::cascade;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum EmailChanges {
    Table,
    UserId,
    NewEmail,
    RequestedAt,
    SessionId,
    UsedTokenHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailChanges::Table)
                    .col(uuid(EmailChanges::UserId).primary_key())
                    .col(string_len(EmailChanges::NewEmail, 254))
                    .col(timestamp_with_time_zone(EmailChanges::RequestedAt))
                    .col(uuid_null(EmailChanges::SessionId))
                    .col(string_len_null(EmailChanges::UsedTokenHash, 64))
                    .foreign_key(&mut cascade(
                        "fk_email_changes_user",
                        (EmailChanges::Table, EmailChanges::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailChanges::Table).to_owned())
            .await
    }
}
