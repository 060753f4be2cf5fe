use sea_orm_migration::{prelude::*, schema::*};

use crate::{cascade, index, m20261123_000001_create_user_table::Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OneTimeCode {
    Table,
    Id,
    UserId,
    Purpose,
    ChallengeHash,
    CodeHash,
    Attempts,
    MaxAttempts,
    Resends,
    LastSentAt,
    ExpiresAt,
    ConsumedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OneTimeCode::Table)
                    .col(pk_uuid(OneTimeCode::Id))
                    .col(uuid(OneTimeCode::UserId))
                    .col(string_len(OneTimeCode::Purpose, 32))
                    .col(string_len_null(OneTimeCode::ChallengeHash, 64).unique_key())
                    .col(string_len(OneTimeCode::CodeHash, 64))
                    .col(integer(OneTimeCode::Attempts).default(0))
                    .col(integer(OneTimeCode::MaxAttempts))
                    .col(integer(OneTimeCode::Resends).default(0))
                    .col(timestamp_with_time_zone(OneTimeCode::LastSentAt))
                    .col(timestamp_with_time_zone(OneTimeCode::ExpiresAt))
                    .col(timestamp_with_time_zone_null(OneTimeCode::ConsumedAt))
                    .col(timestamp_with_time_zone(OneTimeCode::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_one_time_code_user",
                        (OneTimeCode::Table, OneTimeCode::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_one_time_code_user_purpose",
                OneTimeCode::Table,
                [OneTimeCode::UserId, OneTimeCode::Purpose],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OneTimeCode::Table).to_owned())
            .await
    }
}
