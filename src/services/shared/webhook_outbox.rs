//! Webhook deliveries are written like mail (API.md §11.2): in the
//! transaction of the change they report, one per enabled endpoint whose
//! subscriptions match, so a rolled-back change delivers nothing and a
//! committed one is delivered at least once.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::security_event;
use entity::webhook_delivery::{self, PENDING};
use entity::webhook_endpoint::{self, Column};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::webhook;

/// The body every attempt sends: `{"type", "timestamp", "data"}`.
pub fn envelope(event_type: &str, at: DateTime<Utc>, data: Value) -> String {
    json!({
        "type": event_type,
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

/// A delivery of `body` to one endpoint, due now.
pub fn delivery(
    endpoint_id: Uuid,
    event_type: &str,
    body: String,
    now: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    let id = Uuid::now_v7();
    webhook_delivery::ActiveModel {
        id: sea_orm::Set(id),
        endpoint_id: sea_orm::Set(endpoint_id),
        webhook_id: sea_orm::Set(format!("msg_{}", id.simple())),
        event_type: sea_orm::Set(event_type.to_owned()),
        payload: sea_orm::Set(body),
        status: sea_orm::Set(PENDING.to_owned()),
        attempts: sea_orm::Set(0),
        attempt_limit: sea_orm::Set(None),
        created_at: sea_orm::Set(now),
        last_attempt_at: sea_orm::Set(None),
        next_attempt_at: sea_orm::Set(Some(now)),
        response_status: sea_orm::Set(None),
        lease_until: sea_orm::Set(None),
    }
}

/// Queues `event_type` with `data` for every enabled endpoint that
/// subscribed to it, in `conn`'s transaction.
#[tracing::instrument(skip_all, fields(event_type))]
pub async fn enqueue(
    conn: &impl ConnectionTrait,
    event_type: &str,
    at: DateTime<Utc>,
    data: Value,
) -> Result<(), DbErr> {
    let endpoints: Vec<(Uuid, String)> = webhook_endpoint::Entity::find()
        .select_only()
        .columns([Column::Id, Column::Events])
        .filter(Column::Enabled.eq(true))
        .into_tuple()
        .all(conn)
        .await?;
    let targets: Vec<Uuid> = endpoints
        .into_iter()
        .filter(|(_, events)| webhook::matches(events.lines(), event_type))
        .map(|(id, _)| id)
        .collect();
    if targets.is_empty() {
        return Ok(());
    }
    let body = envelope(event_type, at, data);
    let now = crate::db::now();
    let rows = targets
        .into_iter()
        .map(|id| delivery(id, event_type, body.clone(), now));
    webhook_delivery::Entity::insert_many(rows)
        .exec(conn)
        .await?;
    Ok(())
}

/// `security.<type>`'s data: the event as recorded (no secret is ever in one).
pub fn security_data(event: &security_event::Model) -> Value {
    json!({
        "id": event.id.to_string(),
        "type": event.kind,
        "userId": event.user_id.to_string(),
        "actorId": event.actor_id.map(|id| id.to_string()),
        "sessionId": event.session_id.map(|id| id.to_string()),
        "organizationId": event.organization_id.map(|id| id.to_string()),
        "ip": event.ip,
        "userAgent": event.user_agent,
        "createdAt": event.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

/// `user.created`'s data.
pub fn user_data(user: &entity::user::Model) -> Value {
    json!({ "user": {
        "id": user.id.to_string(),
        "email": user.email,
        "username": user.username,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "isActive": user.is_active,
        "isStaff": user.is_staff,
        "dateJoined": user.date_joined.to_rfc3339_opts(SecondsFormat::Millis, true),
    }})
}

/// Queues `user.created` for a new account, in its transaction.
pub async fn user_created(
    conn: &impl ConnectionTrait,
    user: &entity::user::Model,
) -> Result<(), DbErr> {
    enqueue(conn, "user.created", user.date_joined, user_data(user)).await
}
