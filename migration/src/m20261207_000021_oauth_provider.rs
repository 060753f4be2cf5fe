//! authql as an OAuth 2.1 / OpenID Connect provider (API.md §9.3):
//! - `oauth_clients`: relying parties, their secret only as its SHA-256;
//! - `oauth_grants`: a user's remembered consent per client (the union of
//!   the scopes approved so far);
//! - `oauth_authorizations`: a pending authorization request, keyed by the
//!   SHA-256 of its unguessable id, then the decision and the code it
//!   yielded (its SHA-256), bound to everything the token endpoint checks;
//! - `sessions` gain the OAuth session's client, scopes and resource, and a
//!   browser session's cookie (its SHA-256): both are sessions, so every
//!   rule that ends sessions ends them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{add_column, cascade, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Provider,
    OauthClientId,
    OauthScopes,
    OauthResource,
    BrowserHash,
}

#[derive(DeriveIden)]
enum OneTimeCode {
    Table,
    Provider,
}

#[derive(DeriveIden)]
enum OauthClients {
    Table,
    Id,
    Name,
    ClientType,
    SecretHash,
    SecretCreatedAt,
    RedirectUris,
    PostLogoutRedirectUris,
    AllowedScopes,
    SkipConsent,
    Dynamic,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OauthGrants {
    Table,
    Id,
    UserId,
    ClientId,
    Scopes,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum OauthAuthorizations {
    Table,
    IdHash,
    ClientId,
    RedirectUri,
    Scopes,
    State,
    CodeChallenge,
    Nonce,
    Prompt,
    MaxAge,
    LoginHint,
    Resource,
    ClientIp,
    CreatedAt,
    ExpiresAt,
    DecidedAt,
    UserId,
    DeciderSessionId,
    GrantedScopes,
    AuthTime,
    Amr,
    CodeHash,
    CodeUsedAt,
    OauthSessionId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OauthClients::Table)
                    .col(uuid(OauthClients::Id).primary_key())
                    .col(string_len(OauthClients::Name, 400))
                    .col(string_len(OauthClients::ClientType, 16))
                    .col(string_len_null(OauthClients::SecretHash, 64))
                    .col(timestamp_with_time_zone_null(OauthClients::SecretCreatedAt))
                    .col(text(OauthClients::RedirectUris))
                    .col(text(OauthClients::PostLogoutRedirectUris))
                    .col(string_len(OauthClients::AllowedScopes, 64))
                    .col(boolean(OauthClients::SkipConsent))
                    .col(boolean(OauthClients::Dynamic))
                    .col(timestamp_with_time_zone(OauthClients::CreatedAt))
                    .col(timestamp_with_time_zone(OauthClients::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "oauth_clients_created",
                OauthClients::Table,
                [OauthClients::CreatedAt, OauthClients::Id],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthGrants::Table)
                    .col(uuid(OauthGrants::Id).primary_key())
                    .col(uuid(OauthGrants::UserId))
                    .col(uuid(OauthGrants::ClientId))
                    .col(string_len(OauthGrants::Scopes, 64))
                    .col(timestamp_with_time_zone(OauthGrants::CreatedAt))
                    .col(timestamp_with_time_zone_null(OauthGrants::LastUsedAt))
                    .foreign_key(&mut cascade(
                        "fk_oauth_grants_user",
                        (OauthGrants::Table, OauthGrants::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_oauth_grants_client",
                        (OauthGrants::Table, OauthGrants::ClientId),
                        (OauthClients::Table, OauthClients::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "oauth_grants_user_client",
                    OauthGrants::Table,
                    [OauthGrants::UserId, OauthGrants::ClientId],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "oauth_grants_client",
                OauthGrants::Table,
                [OauthGrants::ClientId],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthAuthorizations::Table)
                    .col(string_len(OauthAuthorizations::IdHash, 64).primary_key())
                    .col(uuid(OauthAuthorizations::ClientId))
                    .col(text(OauthAuthorizations::RedirectUri))
                    .col(string_len(OauthAuthorizations::Scopes, 64))
                    .col(text_null(OauthAuthorizations::State))
                    .col(string_len(OauthAuthorizations::CodeChallenge, 43))
                    .col(text_null(OauthAuthorizations::Nonce))
                    .col(string_len(OauthAuthorizations::Prompt, 16))
                    .col(big_integer_null(OauthAuthorizations::MaxAge))
                    .col(text_null(OauthAuthorizations::LoginHint))
                    .col(text_null(OauthAuthorizations::Resource))
                    .col(string_len(OauthAuthorizations::ClientIp, 64))
                    .col(timestamp_with_time_zone(OauthAuthorizations::CreatedAt))
                    .col(timestamp_with_time_zone(OauthAuthorizations::ExpiresAt))
                    .col(timestamp_with_time_zone_null(
                        OauthAuthorizations::DecidedAt,
                    ))
                    .col(uuid_null(OauthAuthorizations::UserId))
                    .col(uuid_null(OauthAuthorizations::DeciderSessionId))
                    .col(string_len_null(OauthAuthorizations::GrantedScopes, 64))
                    .col(timestamp_with_time_zone_null(OauthAuthorizations::AuthTime))
                    .col(string_len_null(OauthAuthorizations::Amr, 64))
                    .col(string_len_null(OauthAuthorizations::CodeHash, 64))
                    .col(timestamp_with_time_zone_null(
                        OauthAuthorizations::CodeUsedAt,
                    ))
                    .col(uuid_null(OauthAuthorizations::OauthSessionId))
                    .foreign_key(&mut cascade(
                        "fk_oauth_authorizations_client",
                        (OauthAuthorizations::Table, OauthAuthorizations::ClientId),
                        (OauthClients::Table, OauthClients::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "oauth_authorizations_ip",
                OauthAuthorizations::Table,
                [
                    OauthAuthorizations::ClientIp,
                    OauthAuthorizations::ExpiresAt,
                ],
            ))
            .await?;
        manager
            .create_index(
                index(
                    "oauth_authorizations_code",
                    OauthAuthorizations::Table,
                    [OauthAuthorizations::CodeHash],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "oauth_authorizations_expiry",
                OauthAuthorizations::Table,
                [OauthAuthorizations::ExpiresAt],
            ))
            .await?;
        // The provider of a `fed` sign-in (API.md §9.1): on its session, and
        // on the second-factor challenge that comes between.
        add_column(
            manager,
            Sessions::Table,
            string_len_null(Sessions::Provider, 32),
        )
        .await?;
        add_column(
            manager,
            OneTimeCode::Table,
            string_len_null(OneTimeCode::Provider, 32),
        )
        .await?;
        add_column(manager, Sessions::Table, uuid_null(Sessions::OauthClientId)).await?;
        add_column(
            manager,
            Sessions::Table,
            string_len_null(Sessions::OauthScopes, 64),
        )
        .await?;
        add_column(manager, Sessions::Table, text_null(Sessions::OauthResource)).await?;
        add_column(
            manager,
            Sessions::Table,
            string_len_null(Sessions::BrowserHash, 64),
        )
        .await?;
        manager
            .create_index(
                index(
                    "sessions_browser_hash",
                    Sessions::Table,
                    [Sessions::BrowserHash],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "sessions_oauth_client",
                Sessions::Table,
                [Sessions::OauthClientId],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OauthAuthorizations::Table.into_iden(),
            OauthGrants::Table.into_iden(),
            OauthClients::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("sessions_browser_hash")
                    .table(Sessions::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("sessions_oauth_client")
                    .table(Sessions::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OneTimeCode::Table)
                    .drop_column(OneTimeCode::Provider)
                    .to_owned(),
            )
            .await?;
        for column in [
            Sessions::Provider,
            Sessions::OauthClientId,
            Sessions::OauthScopes,
            Sessions::OauthResource,
            Sessions::BrowserHash,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
