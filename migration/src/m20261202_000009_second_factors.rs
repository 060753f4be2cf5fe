//! Second factors beyond the emailed code (API.md §8.4): an authenticator
//! app's secret (sealed, never plain), the recovery codes (hashed), the
//! user's flag that login reads without another query, and which kind of
//! code a sign-in challenge expects.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{cascade, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    TotpEnabled,
}

#[derive(DeriveIden)]
enum OneTimeCode {
    Table,
    Method,
}

#[derive(DeriveIden)]
enum TotpFactors {
    Table,
    UserId,
    Secret,
    LastStep,
    EnabledAt,
    PendingSecret,
    PendingCreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(boolean(Users::TotpEnabled).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OneTimeCode::Table)
                    .add_column(string_len(OneTimeCode::Method, 8).default("EMAIL"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TotpFactors::Table)
                    .col(uuid(TotpFactors::UserId).primary_key())
                    .col(string_len_null(TotpFactors::Secret, 200))
                    .col(big_integer_null(TotpFactors::LastStep))
                    .col(timestamp_with_time_zone_null(TotpFactors::EnabledAt))
                    .col(string_len_null(TotpFactors::PendingSecret, 200))
                    .col(timestamp_with_time_zone_null(TotpFactors::PendingCreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_totp_factors_user",
                        (TotpFactors::Table, TotpFactors::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(uuid(RecoveryCodes::Id).primary_key())
                    .col(uuid(RecoveryCodes::UserId))
                    .col(string_len(RecoveryCodes::CodeHash, 64))
                    .col(timestamp_with_time_zone_null(RecoveryCodes::UsedAt))
                    .col(timestamp_with_time_zone(RecoveryCodes::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_recovery_codes_user",
                        (RecoveryCodes::Table, RecoveryCodes::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "recovery_codes_user_code",
                RecoveryCodes::Table,
                [RecoveryCodes::UserId, RecoveryCodes::CodeHash],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RecoveryCodes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(TotpFactors::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OneTimeCode::Table)
                    .drop_column(OneTimeCode::Method)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::TotpEnabled)
                    .to_owned(),
            )
            .await
    }
}
