//! The audit log (API.md §8.2): every change to an account's security is
//! recorded in the transaction of the change, with where it came from, so a
//! rolled-back change leaves no event. Events never hold a secret.

use chrono::{DateTime, Utc};
use entity::security_event::{self, Column, Entity};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryTrait, Select};
use uuid::Uuid;

use crate::auth::assurance::{Assurance, Method};
use crate::db::{self, now};
use crate::domain::SecurityEventType;
use crate::domain::webhook;
use crate::error::{AppError, AppResult};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::live_hub;
use crate::services::shared::pagination::{Ordering, newest_first};
use crate::services::shared::webhook_outbox;

/// The longest stored user agent; longer ones are cut (at a character).
const MAX_USER_AGENT_CHARS: usize = 512;

/// How a sign-in event signed in (API.md §9.1): the session's `amr`, and
/// the provider of a `fed` sign-in or of an identity event.
#[derive(Clone, Debug, Default)]
pub struct How {
    pub amr: Option<String>,
    pub provider: Option<String>,
    /// The organization of an `ORG_*` event.
    pub organization: Option<Uuid>,
}

impl How {
    pub fn signed_in(assurance: &Assurance) -> How {
        How {
            amr: Some(assurance.stored()),
            ..How::default()
        }
    }

    /// A sign-in that began (or failed) with `method`.
    pub fn method(method: Method) -> How {
        How::signed_in(&Assurance::first(method))
    }
}

/// Records one event about `user_id`. `actor` is the staff user who acted,
/// when not the user themself.
#[tracing::instrument(skip_all)]
pub async fn record(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    kind: SecurityEventType,
    client: &ClientInfo,
    actor: Option<Uuid>,
) -> Result<(), DbErr> {
    record_how(conn, user_id, kind, client, actor, How::default()).await
}

/// `record`, saying how a sign-in signed in.
#[tracing::instrument(skip_all)]
pub async fn record_how(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    kind: SecurityEventType,
    client: &ClientInfo,
    actor: Option<Uuid>,
    how: How,
) -> Result<(), DbErr> {
    let event = security_event::Model {
        id: Uuid::now_v7(),
        user_id,
        kind: kind.as_str().to_owned(),
        created_at: now(),
        ip: (!client.ip.is_empty()).then(|| client.ip.chars().take(64).collect()),
        user_agent: client
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
        actor_id: actor.filter(|a| *a != user_id),
        session_id: client.session_id,
        amr: how.amr,
        provider: how.provider,
        organization_id: how.organization,
    };
    let insert = security_event::Entity::insert(security_event::ActiveModel::from(event.clone()));
    // Every instance's listener hears of it (`live::listen`) once it commits.
    db::insert_notifying(conn, &insert.into_query(), live_hub::CHANNEL, "user_id").await?;
    let event_type = webhook::security_event(kind);
    let data = webhook_outbox::security_data(&event);
    webhook_outbox::enqueue(conn, &event_type, event.created_at, data).await
}

/// Records an event on its own, outside any change (a failed sign-in), in
/// a transaction of its own so the event and its webhook deliveries are
/// written together: logged, not fatal, if it cannot be written.
#[tracing::instrument(skip_all)]
pub async fn record_alone(
    db: &db::Db,
    user_id: Uuid,
    kind: SecurityEventType,
    client: &ClientInfo,
    how: How,
) {
    let written = async {
        let txn = db.write().await?;
        record_how(&txn, user_id, kind, client, None, how).await?;
        txn.commit().await
    };
    if let Err(e) = written.await {
        tracing::warn!(error = %e, kind = kind.as_str(), "could not record a security event");
    }
}

/// Which events to list.
#[derive(Debug, Default)]
pub struct EventFilter {
    pub types: Option<Vec<SecurityEventType>>,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
}

/// The events of `user_id` that `filter` lets through, unordered.
pub fn filtered(user_id: Uuid, filter: EventFilter) -> AppResult<Select<Entity>> {
    narrowed(Entity::find().filter(Column::UserId.eq(user_id)), filter)
}

/// The `ORG_*` events of an organization (only those carry its id) that
/// `filter` lets through, unordered: what its OWNERs and ADMINs read.
pub fn of_organization(org: Uuid, filter: EventFilter) -> AppResult<Select<Entity>> {
    narrowed(
        Entity::find().filter(Column::OrganizationId.eq(org)),
        filter,
    )
}

fn narrowed(mut select: Select<Entity>, filter: EventFilter) -> AppResult<Select<Entity>> {
    if let Some(types) = filter.types {
        if types.len() > 50 {
            return Err(AppError::field("types", "must name at most 50 types"));
        }
        select = select.filter(Column::Kind.is_in(types.iter().map(|t| t.as_str())));
    }
    if let Some(after) = filter.after {
        select = select.filter(Column::CreatedAt.gt(after));
    }
    if let Some(before) = filter.before {
        select = select.filter(Column::CreatedAt.lt(before));
    }
    Ok(select)
}

/// Newest first, as a "recent activity" page reads.
pub fn ordering() -> Ordering<Entity> {
    newest_first!(Entity)
}

/// Deletes events older than `retention` (`AUDIT_RETENTION`).
#[tracing::instrument(skip_all)]
pub async fn purge(
    conn: &impl ConnectionTrait,
    retention: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let keep = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    Ok(Entity::delete_many()
        .filter(Column::CreatedAt.lt(now - keep))
        .exec(conn)
        .await?
        .rows_affected)
}
