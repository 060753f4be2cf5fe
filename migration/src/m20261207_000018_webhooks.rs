//! Webhooks (API.md §11): endpoints staff register, and the deliveries
//! written in the transaction of the event they report (an outbox, like
//! the mail outbox). Endpoint secrets are sealed; the previous one signs
//! alongside the new during a rotation's overlap.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Description,
    Events,
    Enabled,
    Secret,
    PreviousSecret,
    PreviousSecretExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EndpointId,
    WebhookId,
    EventType,
    Payload,
    Status,
    Attempts,
    AttemptLimit,
    CreatedAt,
    LastAttemptAt,
    NextAttemptAt,
    ResponseStatus,
    LeaseUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(uuid(WebhookEndpoints::Id).primary_key())
                    .col(string_len(WebhookEndpoints::Url, 2048))
                    .col(string_len(WebhookEndpoints::Description, 800))
                    .col(text(WebhookEndpoints::Events))
                    .col(boolean(WebhookEndpoints::Enabled))
                    .col(text(WebhookEndpoints::Secret))
                    .col(text_null(WebhookEndpoints::PreviousSecret))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::PreviousSecretExpiresAt,
                    ))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(uuid(WebhookDeliveries::Id).primary_key())
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(string_len(WebhookDeliveries::WebhookId, 64))
                    .col(string_len(WebhookDeliveries::EventType, 100))
                    .col(text(WebhookDeliveries::Payload))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(integer_null(WebhookDeliveries::AttemptLimit))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::LastAttemptAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::NextAttemptAt,
                    ))
                    .col(integer_null(WebhookDeliveries::ResponseStatus))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::LeaseUntil))
                    // No foreign key: an event whose transaction races the
                    // endpoint's deletion must not fail the user's change;
                    // the worker drops a delivery whose endpoint is gone.
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "webhook_deliveries_due",
                vec![WebhookDeliveries::Status, WebhookDeliveries::NextAttemptAt],
            ),
            (
                "webhook_deliveries_endpoint",
                vec![WebhookDeliveries::EndpointId, WebhookDeliveries::CreatedAt],
            ),
            (
                "webhook_deliveries_created",
                vec![WebhookDeliveries::CreatedAt],
            ),
        ] {
            manager
                .create_index(index(name, WebhookDeliveries::Table, columns))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookDeliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
