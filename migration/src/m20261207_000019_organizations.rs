//! Organizations (API.md §10):
//! - `organizations`, `memberships` (one role per user and organization),
//!   `invitations` (the token stored only as its SHA-256);
//! - `sessions.active_org_id` / `active_org_role`: the session's active
//!   organization and the role its tokens claim, kept equal to the
//!   membership by every change to it, so the per-request session check
//!   compares a token's org claims without another read;
//! - `products.organization_id`: an organization product (null: personal);
//! - `security_events.organization_id`: set on every `ORG_*` event.

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
enum Organizations {
    Table,
    Id,
    Name,
    Slug,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    OrganizationId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrganizationId,
    Email,
    EmailKey,
    Role,
    TokenHash,
    InvitedBy,
    CreatedAt,
    ExpiresAt,
    AcceptedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    ActiveOrgId,
    ActiveOrgRole,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    OrganizationId,
    CreatedAt,
    NameFold,
    PriceCents,
}

/// The ordering indexes of migration 6, and what replaces each here.
const ORDER_INDEXES: [(&str, &str, Products); 3] = [
    (
        "idx_products_created_at_id",
        "products_org_created_at_id",
        Products::CreatedAt,
    ),
    (
        "idx_products_name_fold_id",
        "products_org_name_fold_id",
        Products::NameFold,
    ),
    (
        "idx_products_price_id",
        "products_org_price_id",
        Products::PriceCents,
    ),
];

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    OrganizationId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(uuid(Organizations::Id).primary_key())
                    .col(string_len(Organizations::Name, 400))
                    .col(string_len_uniq(Organizations::Slug, 40))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .col(timestamp_with_time_zone(Organizations::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(uuid(Memberships::Id).primary_key())
                    .col(uuid(Memberships::OrganizationId))
                    .col(uuid(Memberships::UserId))
                    .col(string_len(Memberships::Role, 8))
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_memberships_organization",
                        (Memberships::Table, Memberships::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_memberships_user",
                        (Memberships::Table, Memberships::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "memberships_organization_user",
                    Memberships::Table,
                    [Memberships::OrganizationId, Memberships::UserId],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "memberships_user_created",
                Memberships::Table,
                [Memberships::UserId, Memberships::CreatedAt],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(uuid(Invitations::Id).primary_key())
                    .col(uuid(Invitations::OrganizationId))
                    .col(string_len(Invitations::Email, 320))
                    .col(string_len(Invitations::EmailKey, 320))
                    .col(string_len(Invitations::Role, 8))
                    .col(string_len_uniq(Invitations::TokenHash, 64))
                    .col(uuid_null(Invitations::InvitedBy))
                    .col(timestamp_with_time_zone(Invitations::CreatedAt))
                    .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Invitations::AcceptedAt))
                    .col(timestamp_with_time_zone_null(Invitations::RevokedAt))
                    .foreign_key(&mut cascade(
                        "fk_invitations_organization",
                        (Invitations::Table, Invitations::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "invitations_organization_email",
                Invitations::Table,
                [Invitations::OrganizationId, Invitations::EmailKey],
            ))
            .await?;
        add_column(manager, Sessions::Table, uuid_null(Sessions::ActiveOrgId)).await?;
        add_column(
            manager,
            Sessions::Table,
            string_len_null(Sessions::ActiveOrgRole, 8),
        )
        .await?;
        add_column(
            manager,
            Products::Table,
            uuid_null(Products::OrganizationId),
        )
        .await?;
        // Every list now reads personal products (`organization_id IS NULL`)
        // or one organization's: each ordering's index is led by the
        // organization, so a page (and a count) is still one index range.
        // A plain index on the column alone made SQLite's planner take it
        // for `IS NULL` and sort the whole table for one page.
        for (old, new, column) in ORDER_INDEXES {
            manager
                .drop_index(Index::drop().name(old).table(Products::Table).to_owned())
                .await?;
            manager
                .create_index(index(
                    new,
                    Products::Table,
                    [Products::OrganizationId, column, Products::Id],
                ))
                .await?;
        }
        add_column(
            manager,
            SecurityEvents::Table,
            uuid_null(SecurityEvents::OrganizationId),
        )
        .await?;
        manager
            .create_index(index(
                "security_events_organization_created",
                SecurityEvents::Table,
                [SecurityEvents::OrganizationId, SecurityEvents::CreatedAt],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [(
            "security_events_organization_created",
            SecurityEvents::Table.into_iden(),
        )] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        for (old, new, column) in ORDER_INDEXES {
            manager
                .drop_index(Index::drop().name(new).table(Products::Table).to_owned())
                .await?;
            manager
                .create_index(index(old, Products::Table, [column, Products::Id]))
                .await?;
        }
        for (table, column) in [
            (
                SecurityEvents::Table.into_iden(),
                SecurityEvents::OrganizationId.into_iden(),
            ),
            (
                Products::Table.into_iden(),
                Products::OrganizationId.into_iden(),
            ),
            (
                Sessions::Table.into_iden(),
                Sessions::ActiveOrgRole.into_iden(),
            ),
            (
                Sessions::Table.into_iden(),
                Sessions::ActiveOrgId.into_iden(),
            ),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        for table in [
            Invitations::Table.into_iden(),
            Memberships::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
