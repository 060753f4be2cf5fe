use sea_orm_migration::{prelude::*, schema::*};

use crate::{bytewise, cascade, index, m20261123_000001_create_user_table::Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    OwnerId,
    Name,
    NameFold,
    Description,
    DescriptionFold,
    PriceCents,
    InStock,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .col(pk_uuid(Products::Id))
                    .col(uuid(Products::OwnerId))
                    .col(string_len(Products::Name, 200))
                    .col(bytewise(string_len(Products::NameFold, 800), backend))
                    .col(text(Products::Description))
                    .col(text(Products::DescriptionFold))
                    .col(integer(Products::PriceCents))
                    .col(boolean(Products::InStock))
                    .col(timestamp_with_time_zone(Products::CreatedAt))
                    .col(timestamp_with_time_zone(Products::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_products_owner",
                        (Products::Table, Products::OwnerId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One index per ordering, each ending in the id tie-breaker, so every
        // page of every ordering is an index range scan; and the owner filter.
        for (name, col) in [
            ("idx_products_created_at_id", Products::CreatedAt),
            ("idx_products_name_fold_id", Products::NameFold),
            ("idx_products_price_id", Products::PriceCents),
            ("idx_products_owner", Products::OwnerId),
        ] {
            manager
                .create_index(index(name, Products::Table, [col, Products::Id]))
                .await?;
        }
        manager
            .create_index(index(
                "idx_users_email_key_id",
                Users::Table,
                [Users::EmailKey, Users::Id],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_users_email_key_id")
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Products::Table).to_owned())
            .await
    }
}
