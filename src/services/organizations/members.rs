//! Members (API.md §10.2): changing roles, removing and leaving, under the
//! role table and the rule that an organization always keeps an OWNER.
//! Each change rewrites the member's sessions that have the organization
//! active, so it takes effect on their very next request everywhere.

use entity::{membership, organization};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Select,
};
use serde_json::json;
use uuid::Uuid;

use super::access::{announce, locked_org, membership, owners, record, rewrite_sessions, role_of};
use crate::auth::viewer::Authenticated;
use crate::db;
use crate::domain::SecurityEventType as Kind;
use crate::domain::organization::Role;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_session;

/// The members of `org`, with `role` only, unordered.
pub fn of(org: Uuid, role: Option<Role>) -> Select<membership::Entity> {
    let mut select = membership::Entity::find().filter(membership::Column::OrganizationId.eq(org));
    if let Some(role) = role {
        select = select.filter(membership::Column::Role.eq(role.as_str()));
    }
    select
}

/// A member of `org` other than the viewer: `NOT_FOUND` if not a member.
async fn target(
    conn: &impl ConnectionTrait,
    org: Uuid,
    user: Uuid,
) -> AppResult<membership::Model> {
    membership(conn, org, user).await?.ok_or(AppError::NotFound)
}

/// Refuses what would leave `org` without an OWNER.
async fn keep_an_owner(conn: &impl ConnectionTrait, org: Uuid, losing: Role) -> AppResult<()> {
    if losing == Role::Owner && owners(conn, org).await? <= 1 {
        return Err(AppError::ForbiddenBecause(
            "an organization must keep an OWNER: promote another member first, or delete it".into(),
        ));
    }
    Ok(())
}

/// `changeMemberRole` (never with an API token).
#[tracing::instrument(skip_all)]
pub async fn change_role(
    app: &AppContext,
    who: &Authenticated,
    org: Uuid,
    user: Uuid,
    role: Role,
    client: &ClientInfo,
) -> AppResult<membership::Model> {
    require_session(who)?;
    let txn = app.db.write().await?;
    let seen = locked_org(&txn, org, who.user.id).await?;
    let member = target(&txn, org, user).await?;
    let previous = role_of(&member);
    if !(seen.role.may_handle(previous) && seen.role.may_handle(role)) {
        return Err(AppError::Forbidden);
    }
    if previous == role {
        return Ok(member);
    }
    if previous == Role::Owner {
        keep_an_owner(&txn, org, previous).await?;
    }
    let mut changed: membership::ActiveModel = member.into();
    changed.role = Set(role.as_str().to_owned());
    let member = changed.update(&txn).await?;
    rewrite_sessions(&txn, org, Some(user), Some(role)).await?;
    let actor = Some(who.user.id);
    record(&txn, user, Kind::OrgMemberRoleChanged, org, actor, client).await?;
    let data = json!({
        "organizationId": org.to_string(), "userId": user.to_string(),
        "role": role.as_str(), "previousRole": previous.as_str(),
        "actorId": who.user.id.to_string(),
    });
    announce(&txn, "organization.member_updated", data).await?;
    txn.commit().await?;
    Ok(member)
}

/// `removeMember`; naming the viewer is `leaveOrganization`.
#[tracing::instrument(skip_all)]
pub async fn remove(
    app: &AppContext,
    who: &Authenticated,
    org: Uuid,
    user: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    if user == who.user.id {
        return leave(app, who, org, client).await;
    }
    let txn = app.db.write().await?;
    let seen = locked_org(&txn, org, who.user.id).await?;
    let member = target(&txn, org, user).await?;
    let role = role_of(&member);
    if !seen.role.may_handle(role) {
        return Err(AppError::Forbidden);
    }
    keep_an_owner(&txn, org, role).await?;
    end_membership(
        &txn,
        member,
        Kind::OrgMemberRemoved,
        Some(who.user.id),
        client,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// `leaveOrganization`: any member but the last OWNER.
#[tracing::instrument(skip_all)]
pub async fn leave(
    app: &AppContext,
    who: &Authenticated,
    org: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    let txn = app.db.write().await?;
    let seen = locked_org(&txn, org, who.user.id).await?;
    keep_an_owner(&txn, org, seen.role).await?;
    let member = target(&txn, org, who.user.id).await?;
    end_membership(&txn, member, Kind::OrgMemberLeft, None, client).await?;
    txn.commit().await?;
    Ok(())
}

async fn end_membership(
    conn: &impl ConnectionTrait,
    member: membership::Model,
    kind: Kind,
    actor: Option<Uuid>,
    client: &ClientInfo,
) -> AppResult<()> {
    let (org, user) = (member.organization_id, member.user_id);
    membership::Entity::delete_by_id(member.id)
        .exec(conn)
        .await?;
    rewrite_sessions(conn, org, Some(user), None).await?;
    record(conn, user, kind, org, actor, client).await?;
    let data = json!({
        "organizationId": org.to_string(), "userId": user.to_string(),
        "actorId": actor.unwrap_or(user).to_string(),
        "reason": if actor.is_some() { "removed" } else { "left" },
    });
    announce(conn, "organization.member_removed", data).await?;
    Ok(())
}

/// The organizations of which `user` is the only OWNER (`deleteAccount`
/// is refused until they hand them over or delete them). Each is locked
/// first, as every membership change locks it, so an OWNER leaving or
/// deleting their account at the same moment waits and counts anew.
#[tracing::instrument(skip_all)]
pub async fn solely_owned(conn: &impl ConnectionTrait, user: Uuid) -> AppResult<Vec<String>> {
    let owned: Vec<Uuid> = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user))
        .filter(membership::Column::Role.eq(Role::Owner.as_str()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.organization_id)
        .collect();
    if owned.is_empty() {
        return Ok(Vec::new());
    }
    let orgs = organization::Entity::find()
        .filter(organization::Column::Id.is_in(owned))
        .order_by_asc(organization::Column::Id);
    let mut names = Vec::new();
    for org in db::locked(conn, orgs).all(conn).await? {
        let still_owner = membership(conn, org.id, user)
            .await?
            .is_some_and(|m| role_of(&m) == Role::Owner);
        if still_owner && owners(conn, org.id).await? <= 1 {
            names.push(org.name);
        }
    }
    Ok(names)
}
