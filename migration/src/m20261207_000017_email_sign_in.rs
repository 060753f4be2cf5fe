//! Passwordless email sign-in (API.md §9.2) and what it shares with §9.1:
//! - `email_sign_ins`: one live record per address, holding the digests of
//!   its link token and its code (using either uses both);
//! - `exchange_codes`: the one-time code a browser flow hands to the app's
//!   redirect target instead of a token;
//! - `users.email_verified`: someone proved the address (accounts activated
//!   before this migration did, by link or code);
//! - `one_time_code.first_step`: the first step a second-factor challenge
//!   follows, so its session's `amr` says how the user began;
//! - `security_events.amr` / `provider`: how a sign-in event signed in.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{add_column, cascade, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    EmailVerified,
}

#[derive(DeriveIden)]
enum OneTimeCode {
    Table,
    FirstStep,
}

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    Amr,
    Provider,
}

#[derive(DeriveIden)]
enum EmailSignIns {
    Table,
    Id,
    EmailKey,
    Email,
    TokenHash,
    CodeHash,
    Attempts,
    MaxAttempts,
    RedirectTo,
    CodeChallenge,
    ExpiresAt,
    ConsumedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ExchangeCodes {
    Table,
    Id,
    CodeHash,
    UserId,
    Amr,
    CodeChallenge,
    ExpiresAt,
    ConsumedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            Users::Table,
            boolean(Users::EmailVerified).default(false).to_owned(),
        )
        .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE users SET email_verified = TRUE WHERE id IN \
                 (SELECT user_id FROM security_events WHERE kind = 'ACCOUNT_ACTIVATED' \
                 AND actor_id IS NULL)",
            )
            .await?;
        add_column(
            manager,
            OneTimeCode::Table,
            string_len(OneTimeCode::FirstStep, 16)
                .default("pwd")
                .to_owned(),
        )
        .await?;
        add_column(
            manager,
            SecurityEvents::Table,
            string_len_null(SecurityEvents::Amr, 64),
        )
        .await?;
        add_column(
            manager,
            SecurityEvents::Table,
            string_len_null(SecurityEvents::Provider, 64),
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(EmailSignIns::Table)
                    .col(uuid(EmailSignIns::Id).primary_key())
                    .col(string_len(EmailSignIns::EmailKey, 320))
                    .col(string_len(EmailSignIns::Email, 320))
                    .col(string_len_uniq(EmailSignIns::TokenHash, 64))
                    .col(string_len(EmailSignIns::CodeHash, 64))
                    .col(integer(EmailSignIns::Attempts))
                    .col(integer(EmailSignIns::MaxAttempts))
                    .col(text_null(EmailSignIns::RedirectTo))
                    .col(string_len_null(EmailSignIns::CodeChallenge, 43))
                    .col(timestamp_with_time_zone(EmailSignIns::ExpiresAt))
                    .col(timestamp_with_time_zone_null(EmailSignIns::ConsumedAt))
                    .col(timestamp_with_time_zone(EmailSignIns::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "email_sign_ins_email_key",
                EmailSignIns::Table,
                [EmailSignIns::EmailKey],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExchangeCodes::Table)
                    .col(uuid(ExchangeCodes::Id).primary_key())
                    .col(string_len_uniq(ExchangeCodes::CodeHash, 64))
                    .col(uuid(ExchangeCodes::UserId))
                    .col(string_len(ExchangeCodes::Amr, 64))
                    .col(string_len_null(ExchangeCodes::CodeChallenge, 43))
                    .col(timestamp_with_time_zone(ExchangeCodes::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ExchangeCodes::ConsumedAt))
                    .col(timestamp_with_time_zone(ExchangeCodes::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_exchange_codes_user",
                        (ExchangeCodes::Table, ExchangeCodes::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ExchangeCodes::Table.into_iden(),
            EmailSignIns::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for (table, column) in [
            (
                SecurityEvents::Table.into_iden(),
                SecurityEvents::Provider.into_iden(),
            ),
            (
                SecurityEvents::Table.into_iden(),
                SecurityEvents::Amr.into_iden(),
            ),
            (
                OneTimeCode::Table.into_iden(),
                OneTimeCode::FirstStep.into_iden(),
            ),
            (Users::Table.into_iden(), Users::EmailVerified.into_iden()),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
