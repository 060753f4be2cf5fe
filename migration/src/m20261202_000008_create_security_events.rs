//! The audit log of API.md §8.2: one row per change to an account's
//! security. No foreign key to `users`: a deleted account keeps one
//! `ACCOUNT_DELETED` row under its former id.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    Id,
    UserId,
    Kind,
    CreatedAt,
    Ip,
    UserAgent,
    ActorId,
    SessionId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SecurityEvents::Table)
                    .col(uuid(SecurityEvents::Id).primary_key())
                    .col(uuid(SecurityEvents::UserId))
                    .col(string_len(SecurityEvents::Kind, 40))
                    .col(timestamp_with_time_zone(SecurityEvents::CreatedAt))
                    .col(string_len_null(SecurityEvents::Ip, 64))
                    .col(string_len_null(SecurityEvents::UserAgent, 512))
                    .col(uuid_null(SecurityEvents::ActorId))
                    .col(uuid_null(SecurityEvents::SessionId))
                    .to_owned(),
            )
            .await?;
        // A user's events newest first (the keyset order), and the purge.
        manager
            .create_index(index(
                "security_events_user_created",
                SecurityEvents::Table,
                [
                    SecurityEvents::UserId,
                    SecurityEvents::CreatedAt,
                    SecurityEvents::Id,
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "security_events_created",
                SecurityEvents::Table,
                [SecurityEvents::CreatedAt],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SecurityEvents::Table).to_owned())
            .await
    }
}
