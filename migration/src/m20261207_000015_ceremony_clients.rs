//! Unfinished passkey sign-ins are counted per client (API.md §8.9): each
//! ceremony keeps the digest of the client IP that began it (an IPv6
//! client by its /64), indexed for the count.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebauthnChallenges {
    Table,
    ClientKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(WebauthnChallenges::Table)
                    .add_column(string_len_null(WebauthnChallenges::ClientKey, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "webauthn_challenges_client_key",
                WebauthnChallenges::Table,
                [WebauthnChallenges::ClientKey],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("webauthn_challenges_client_key")
                    .table(WebauthnChallenges::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebauthnChallenges::Table)
                    .drop_column(WebauthnChallenges::ClientKey)
                    .to_owned(),
            )
            .await
    }
}
