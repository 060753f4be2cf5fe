//! What every organization rule reads and writes first: the organization
//! under a lock, the viewer's membership, the sessions that carry a role,
//! and the events and webhooks of a change.
//!
//! Every change to an organization's memberships takes its row's lock
//! first (`locked_org`): on PostgreSQL, changes to one organization then
//! run one after another, so of two OWNERs who demote each other exactly
//! one succeeds; SQLite's write transactions already run one at a time.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::{membership, organization, session};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db;
use crate::domain::SecurityEventType as Kind;
use crate::domain::organization::Role;
use crate::error::{AppError, AppResult};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::security_events::{self as events, How};
use crate::services::shared::webhook_outbox;

/// A member's view of an organization: it and the viewer's role in it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub organization: organization::Model,
    pub role: Role,
}

/// The role stored on a membership (a stored value is always one).
pub fn role_of(m: &membership::Model) -> Role {
    Role::parse(&m.role).unwrap_or(Role::Member)
}

/// `user`'s membership of `org`, if any.
pub async fn membership(
    conn: &impl ConnectionTrait,
    org: Uuid,
    user: Uuid,
) -> Result<Option<membership::Model>, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org))
        .filter(membership::Column::UserId.eq(user))
        .one(conn)
        .await
}

/// The organization, locked for the rest of the transaction, seen by
/// `viewer`: `NOT_FOUND` unless the viewer is a member (§10: to others
/// it does not exist).
pub async fn locked_org(conn: &impl ConnectionTrait, org: Uuid, viewer: Uuid) -> AppResult<Seen> {
    let organization = db::locked(conn, organization::Entity::find_by_id(org))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mine = membership(conn, org, viewer)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Seen {
        organization,
        role: role_of(&mine),
    })
}

/// How many OWNERs `org` has.
pub async fn owners(conn: &impl ConnectionTrait, org: Uuid) -> Result<u64, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org))
        .filter(membership::Column::Role.eq(Role::Owner.as_str()))
        .count(conn)
        .await
}

/// Keeps the sessions that have `org` active truthful (API.md §10.4):
/// `Some(role)` after a role change, `None` after a removal (the active
/// organization is cleared). `user: None` is every member (a deletion).
/// Tokens claiming the old facts stop authenticating on the next request.
pub async fn rewrite_sessions(
    conn: &impl ConnectionTrait,
    org: Uuid,
    user: Option<Uuid>,
    role: Option<Role>,
) -> Result<(), DbErr> {
    let mut update = session::Entity::update_many()
        .col_expr(
            session::Column::ActiveOrgRole,
            Expr::value(role.map(|r| r.as_str().to_owned())),
        )
        .filter(session::Column::ActiveOrgId.eq(org));
    if role.is_none() {
        update = update.col_expr(session::Column::ActiveOrgId, Expr::value(None::<Uuid>));
    }
    if let Some(user) = user {
        update = update.filter(session::Column::UserId.eq(user));
    }
    update.exec(conn).await.map(drop)
}

/// Records an `ORG_*` event of `user`, with `actor` when another acted.
pub async fn record(
    conn: &impl ConnectionTrait,
    user: Uuid,
    kind: Kind,
    org: Uuid,
    actor: Option<Uuid>,
    client: &ClientInfo,
) -> Result<(), DbErr> {
    let how = How {
        organization: Some(org),
        ..How::default()
    };
    // An event of a member that an admin caused keeps no trace of the
    // admin's client (address, agent, session): the member reads it.
    let acting_for_another = actor.is_some_and(|a| a != user);
    let anonymous = ClientInfo::default();
    let origin = if acting_for_another {
        &anonymous
    } else {
        client
    };
    events::record_how(conn, user, kind, origin, actor, how).await
}

/// Queues an `organization.*` webhook event.
pub async fn announce(conn: &impl ConnectionTrait, event: &str, data: Value) -> Result<(), DbErr> {
    webhook_outbox::enqueue(conn, event, db::now(), data).await
}

pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An organization as `organization.created`/`updated` carry it.
pub fn org_data(org: &organization::Model) -> Value {
    json!({
        "id": org.id.to_string(),
        "name": org.name,
        "slug": org.slug,
        "createdAt": time(org.created_at),
    })
}
