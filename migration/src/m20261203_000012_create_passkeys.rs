//! Passkeys (API.md §8.4): each user's WebAuthn credentials, and the
//! ceremonies in progress. A ceremony's state lives in the database (not in
//! the process that began it), so a registration or sign-in begun on one
//! instance finishes on any other; it is taken by a conditional delete, so
//! it works once.

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
enum Passkeys {
    Table,
    Id,
    UserId,
    Name,
    CredentialId,
    Credential,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum WebauthnChallenges {
    Table,
    Id,
    UserId,
    Purpose,
    State,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Passkeys::Table)
                    .col(pk_uuid(Passkeys::Id))
                    .col(uuid(Passkeys::UserId))
                    .col(string_len(Passkeys::Name, 100))
                    // base64url of the credential id (at most 1023 bytes by
                    // the spec): unique across users, so a credential is
                    // never registered twice.
                    .col(string_len_uniq(Passkeys::CredentialId, 1400))
                    // webauthn-rs's `Passkey` as JSON: the public key, the
                    // sign counter; no secret.
                    .col(text(Passkeys::Credential))
                    .col(timestamp_with_time_zone(Passkeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(Passkeys::LastUsedAt))
                    .foreign_key(&mut cascade(
                        "fk_passkeys_user",
                        (Passkeys::Table, Passkeys::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "passkeys_user",
                Passkeys::Table,
                [Passkeys::UserId, Passkeys::CreatedAt],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebauthnChallenges::Table)
                    .col(pk_uuid(WebauthnChallenges::Id))
                    // The user a registration is for, or whose address a
                    // sign-in named; none for a discoverable sign-in.
                    .col(uuid_null(WebauthnChallenges::UserId))
                    .col(string_len(WebauthnChallenges::Purpose, 16))
                    .col(text(WebauthnChallenges::State))
                    .col(timestamp_with_time_zone(WebauthnChallenges::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "webauthn_challenges_expiry",
                WebauthnChallenges::Table,
                [WebauthnChallenges::ExpiresAt],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebauthnChallenges::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Passkeys::Table).to_owned())
            .await
    }
}
