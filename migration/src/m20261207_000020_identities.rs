//! Social sign-in (API.md §9.1):
//! - `identities`: an account's identities at providers, keyed by
//!   (issuer, subject), never by email;
//! - `social_flows`: a browser flow between `start` and its callback (the
//!   state stored only as its SHA-256, the nonce, our PKCE verifier for the
//!   provider, the app's target and challenge), so the callback may land on
//!   any instance;
//! - `social_codes`: what a finished flow proved, waiting under a one-time
//!   exchange code (its SHA-256) for `exchangeSocialCode`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{cascade, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Identities {
    Table,
    Id,
    UserId,
    Provider,
    Issuer,
    Subject,
    Email,
    EmailVerified,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum SocialFlows {
    Table,
    Id,
    Provider,
    StateHash,
    Nonce,
    Verifier,
    RedirectTo,
    CodeChallenge,
    ClientIp,
    CreatedAt,
    ExpiresAt,
    ConsumedAt,
}

#[derive(DeriveIden)]
enum SocialCodes {
    Table,
    Id,
    CodeHash,
    Provider,
    Issuer,
    Subject,
    Email,
    EmailVerified,
    GivenName,
    FamilyName,
    CodeChallenge,
    CreatedAt,
    ExpiresAt,
    ConsumedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Identities::Table)
                    .col(uuid(Identities::Id).primary_key())
                    .col(uuid(Identities::UserId))
                    .col(string_len(Identities::Provider, 32))
                    .col(text(Identities::Issuer))
                    .col(string_len(Identities::Subject, 255))
                    .col(string_len_null(Identities::Email, 320))
                    .col(boolean(Identities::EmailVerified))
                    .col(timestamp_with_time_zone(Identities::CreatedAt))
                    .col(timestamp_with_time_zone_null(Identities::LastUsedAt))
                    .foreign_key(&mut cascade(
                        "fk_identities_user",
                        (Identities::Table, Identities::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "identities_issuer_subject",
                    Identities::Table,
                    [Identities::Issuer, Identities::Subject],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "identities_user",
                Identities::Table,
                [Identities::UserId],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SocialFlows::Table)
                    .col(uuid(SocialFlows::Id).primary_key())
                    .col(string_len(SocialFlows::Provider, 32))
                    .col(string_len_uniq(SocialFlows::StateHash, 64))
                    .col(string_len(SocialFlows::Nonce, 64))
                    .col(string_len(SocialFlows::Verifier, 128))
                    .col(text(SocialFlows::RedirectTo))
                    .col(string_len_null(SocialFlows::CodeChallenge, 43))
                    .col(string_len(SocialFlows::ClientIp, 64))
                    .col(timestamp_with_time_zone(SocialFlows::CreatedAt))
                    .col(timestamp_with_time_zone(SocialFlows::ExpiresAt))
                    .col(timestamp_with_time_zone_null(SocialFlows::ConsumedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "social_flows_client_ip",
                SocialFlows::Table,
                [SocialFlows::ClientIp, SocialFlows::ExpiresAt],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SocialCodes::Table)
                    .col(uuid(SocialCodes::Id).primary_key())
                    .col(string_len_uniq(SocialCodes::CodeHash, 64))
                    .col(string_len(SocialCodes::Provider, 32))
                    .col(text(SocialCodes::Issuer))
                    .col(string_len(SocialCodes::Subject, 255))
                    .col(string_len_null(SocialCodes::Email, 320))
                    .col(boolean(SocialCodes::EmailVerified))
                    .col(string_len_null(SocialCodes::GivenName, 150))
                    .col(string_len_null(SocialCodes::FamilyName, 150))
                    .col(string_len_null(SocialCodes::CodeChallenge, 43))
                    .col(timestamp_with_time_zone(SocialCodes::CreatedAt))
                    .col(timestamp_with_time_zone(SocialCodes::ExpiresAt))
                    .col(timestamp_with_time_zone_null(SocialCodes::ConsumedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SocialCodes::Table.into_iden(),
            SocialFlows::Table.into_iden(),
            Identities::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
