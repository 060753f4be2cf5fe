//! Revision 3's account hardening (API.md §8.1): when a session last proved
//! who its user is, which sign-in challenge re-authenticates a session, who
//! staff deactivated, and the attempts still being judged on a counter.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    AuthenticatedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OneTimeCode {
    Table,
    SessionId,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    DeactivatedAt,
}

#[derive(DeriveIden)]
enum RateLimit {
    Table,
    Pending,
}

/// One `ALTER TABLE … ADD COLUMN` each: SQLite takes one change per statement.
async fn add(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

async fn drop(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A constant default so SQLite can add a NOT NULL column; existing
        // sessions then count as proved when they began.
        add(
            manager,
            Sessions::Table,
            timestamp_with_time_zone(Sessions::AuthenticatedAt)
                .default("1970-01-01T00:00:00+00:00")
                .to_owned(),
        )
        .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Sessions::Table)
                    .value(Sessions::AuthenticatedAt, Expr::col(Sessions::CreatedAt))
                    .to_owned(),
            )
            .await?;
        add(
            manager,
            OneTimeCode::Table,
            uuid_null(OneTimeCode::SessionId),
        )
        .await?;
        add(
            manager,
            Users::Table,
            timestamp_with_time_zone_null(Users::DeactivatedAt),
        )
        .await?;
        add(
            manager,
            RateLimit::Table,
            integer(RateLimit::Pending).default(0).to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop(manager, RateLimit::Table, RateLimit::Pending).await?;
        drop(manager, Users::Table, Users::DeactivatedAt).await?;
        drop(manager, OneTimeCode::Table, OneTimeCode::SessionId).await?;
        drop(manager, Sessions::Table, Sessions::AuthenticatedAt).await
    }
}
