use sea_orm_migration::{prelude::*, schema::*};

use crate::{bytewise, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    Email,
    EmailKey,
    Username,
    UsernameKey,
    PasswordHash,
    FirstName,
    LastName,
    Phone,
    Gender,
    IsActive,
    IsStaff,
    IsSuperuser,
    TwoFactorEnabled,
    SecurityStamp,
    SearchFold,
    DateJoined,
    ActivatedAt,
    LastLogin,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string_len(Users::Email, 320))
                    .col(string_len_uniq(Users::EmailKey, 320))
                    .col(string_len_null(Users::Username, 64))
                    .col(string_len_null(Users::UsernameKey, 64).unique_key())
                    .col(string_len(Users::PasswordHash, 255))
                    .col(string_len_null(Users::FirstName, 150))
                    .col(string_len_null(Users::LastName, 150))
                    .col(string_len_null(Users::Phone, 32))
                    .col(string_len(Users::Gender, 16).default("UNSPECIFIED"))
                    .col(boolean(Users::IsActive).default(false))
                    .col(boolean(Users::IsStaff).default(false))
                    .col(boolean(Users::IsSuperuser).default(false))
                    .col(boolean(Users::TwoFactorEnabled).default(false))
                    .col(string_len(Users::SecurityStamp, 64))
                    // Case-folded email, username and names for the admin's search.
                    .col(bytewise(
                        string_len(Users::SearchFold, 1024).default("").take(),
                        manager.get_database_backend(),
                    ))
                    .col(timestamp_with_time_zone(Users::DateJoined))
                    .col(timestamp_with_time_zone_null(Users::ActivatedAt))
                    .col(timestamp_with_time_zone_null(Users::LastLogin))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_users_date_joined_id",
                Users::Table,
                [Users::DateJoined, Users::Id],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}
