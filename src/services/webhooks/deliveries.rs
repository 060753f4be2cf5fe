//! Webhook deliveries as staff see and steer them (API.md §11.1): the
//! list, a ping, a redelivery.

use entity::webhook_delivery::{Column, Entity, Model, PENDING};
use entity::webhook_endpoint;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Select};
use serde_json::json;
use uuid::Uuid;

use crate::db::now;
use crate::domain::webhook::PING;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::pagination::{Ordering, newest_first};
use crate::services::shared::webhook_outbox::{delivery, envelope};
use crate::services::webhooks::endpoints;

/// Which deliveries to list.
#[derive(Debug, Default)]
pub struct DeliveryFilter {
    pub status: Option<&'static str>,
    pub event_type: Option<String>,
}

/// An endpoint's deliveries that `filter` lets through, unordered;
/// `NOT_FOUND` for an unknown endpoint.
#[tracing::instrument(skip_all)]
pub async fn filtered(
    app: &AppContext,
    endpoint_id: Uuid,
    filter: DeliveryFilter,
) -> AppResult<Select<Entity>> {
    endpoints::find(app, endpoint_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut select = Entity::find().filter(Column::EndpointId.eq(endpoint_id));
    if let Some(status) = filter.status {
        select = select.filter(Column::Status.eq(status));
    }
    if let Some(event_type) = filter.event_type {
        select = select.filter(Column::EventType.eq(event_type));
    }
    Ok(select)
}

/// Newest first.
pub fn ordering() -> Ordering<Entity> {
    newest_first!(Entity)
}

/// `pingWebhookEndpoint`: a `webhook.ping` delivery, whatever the
/// endpoint's `events` and `enabled`.
#[tracing::instrument(skip_all)]
pub async fn ping(app: &AppContext, endpoint_id: Uuid) -> AppResult<Model> {
    let txn = app.db.write().await?;
    // Checked in the transaction that inserts, so a deletion cannot slip
    // between the check and the insert.
    webhook_endpoint::Entity::find_by_id(endpoint_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = now();
    let body = envelope(PING, now, json!({ "endpointId": endpoint_id.to_string() }));
    let row = delivery(endpoint_id, PING, body, now).insert(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

/// `redeliverWebhook`: due now, whatever its status, with the same
/// `webhookId` and payload and `WEBHOOK_MAX_ATTEMPTS` more attempts.
#[tracing::instrument(skip_all)]
pub async fn redeliver(app: &AppContext, id: Uuid) -> AppResult<Model> {
    let now = now();
    let more = app.settings.webhooks.max_attempts as i32;
    let updated = Entity::update_many()
        .col_expr(Column::Status, Expr::value(PENDING))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(Column::AttemptLimit, Expr::col(Column::Attempts).add(more))
        .filter(Column::Id.eq(id))
        .exec_with_returning(app.db.alone())
        .await?;
    updated.into_iter().next().ok_or(AppError::NotFound)
}
