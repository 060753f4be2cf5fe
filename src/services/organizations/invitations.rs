//! Invitations (API.md §10.3): mailed links with a single-use token, the
//! same answer whether or not the address has an account, accepted by
//! the signed-in owner of the invited address or at registration.
//!
//! A token is used by one conditional update (`use_up`), so however many
//! requests race with it, one membership is made.

use chrono::{DateTime, Utc};
use entity::{invitation, membership, organization};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, Select,
};
use serde_json::json;
use uuid::Uuid;

use super::access::{announce, locked_org, membership as membership_of, record, time};
use super::orgs::ensure_room_for_user;
use crate::auth::tokens::{random_token, sha256_hex};
use crate::auth::viewer::Authenticated;
use crate::db::now;
use crate::domain::Email;
use crate::domain::SecurityEventType as Kind;
use crate::domain::organization::Role;
use crate::error::{AppError, AppResult};
use crate::mail::templates;
use crate::services::AppContext;
use crate::services::shared::accounts::mark_verified;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_session;
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::rate_limit::{self, Verdict};

/// Pending: neither accepted nor revoked, and not expired.
fn pending_at(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(invitation::Column::AcceptedAt.is_null())
        .add(invitation::Column::RevokedAt.is_null())
        .add(invitation::Column::ExpiresAt.gt(now))
}

/// An organization's pending invitations, unordered.
pub fn pending(org: Uuid) -> Select<invitation::Entity> {
    invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(org))
        .filter(pending_at(now()))
}

/// The live invitation a token names, with its organization.
#[tracing::instrument(skip_all)]
pub async fn live(
    app: &AppContext,
    token: &str,
) -> AppResult<Option<(invitation::Model, organization::Model)>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let select = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(sha256_hex(token)))
        .filter(pending_at(now()))
        .find_also_related(organization::Entity);
    Ok(match app.db.read().one_also(select).await? {
        Some((inv, Some(org))) => Some((inv, org)),
        _ => None,
    })
}

/// The link an invitation mail carries.
fn link(app: &AppContext, token: &str) -> String {
    match &app.settings.organizations.invitation_url {
        Some(url) => {
            let mut url = url.clone();
            url.query_pairs_mut().append_pair("token", token);
            url.to_string()
        }
        None => format!("{}/invitations/{token}", app.settings.public_url),
    }
}

/// Revokes `org`'s pending invitations matching `which`; answers them.
async fn revoke_where(
    conn: &impl ConnectionTrait,
    which: sea_orm::Condition,
) -> AppResult<Vec<Uuid>> {
    let now = now();
    let revoked = invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, Expr::value(Some(now)))
        .filter(which)
        .filter(pending_at(now))
        .exec_with_returning(conn)
        .await?;
    Ok(revoked.into_iter().map(|i| i.id).collect())
}

async fn revoked(
    conn: &impl ConnectionTrait,
    org: Uuid,
    ids: Vec<Uuid>,
    who: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    for id in ids {
        record(conn, who, Kind::OrgInvitationRevoked, org, None, client).await?;
        let data = json!({
            "organizationId": org.to_string(), "invitationId": id.to_string(),
            "actorId": who.to_string(),
        });
        announce(conn, "organization.invitation_revoked", data).await?;
    }
    Ok(())
}

/// `inviteMember` (never with an API token).
#[tracing::instrument(skip_all)]
pub async fn invite(
    app: &AppContext,
    who: &Authenticated,
    org: Uuid,
    address: &str,
    role: Role,
    client: &ClientInfo,
) -> AppResult<invitation::Model> {
    require_session(who)?;
    let email = Email::parse(address).map_err(|e| AppError::field("email", &e.0))?;
    let limits = &app.settings.organizations;
    let now = now();
    // Every call counts, refused or not: its own statement, so a later
    // refusal's rollback does not give it back.
    let key = rate_limit::key("invite", &who.user.id.to_string());
    if let Verdict::Limited { retry_after_secs } =
        rate_limit::hit(app.db.alone(), &key, limits.invite_rate_limit, now).await?
    {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    let txn = WriteTxn::begin(app).await?;
    let seen = locked_org(&*txn, org, who.user.id).await?;
    if !seen.role.may_handle(role) {
        return Err(AppError::Forbidden);
    }
    let member = membership::Entity::find()
        .inner_join(entity::user::Entity)
        .filter(entity::user::Column::EmailKey.eq(email.key()))
        .filter(membership::Column::OrganizationId.eq(org))
        .count(&*txn)
        .await?;
    if member > 0 {
        return Err(AppError::field("email", "already belongs to a member"));
    }
    // Replacing revokes: an invitation the viewer may not revoke (an
    // OWNER's, for an ADMIN) may not be replaced either.
    let earlier = pending(org)
        .filter(invitation::Column::EmailKey.eq(email.key()))
        .all(&*txn)
        .await?;
    if earlier.iter().any(|i| {
        !seen
            .role
            .may_handle(Role::parse(&i.role).unwrap_or(Role::Owner))
    }) {
        return Err(AppError::Forbidden);
    }
    let replaced = revoke_where(
        &*txn,
        sea_orm::Condition::all()
            .add(invitation::Column::OrganizationId.eq(org))
            .add(invitation::Column::EmailKey.eq(email.key())),
    )
    .await?;
    if pending(org).count(&*txn).await? >= limits.max_pending_invitations {
        return Err(AppError::field(
            "email",
            "the organization has too many pending invitations",
        ));
    }
    let members = super::members::of(org, None).count(&*txn).await?;
    if members >= limits.max_members {
        return Err(AppError::field(
            "email",
            "the organization has the most members allowed",
        ));
    }
    revoked(&*txn, org, replaced, who.user.id, client).await?;
    let token = random_token();
    let ttl = chrono::Duration::from_std(limits.invitation_ttl).map_err(AppError::internal)?;
    let created = invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        email: Set(email.as_str().to_owned()),
        email_key: Set(email.key().to_owned()),
        role: Set(role.as_str().to_owned()),
        token_hash: Set(sha256_hex(&token)),
        invited_by: Set(Some(who.user.id)),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        accepted_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&*txn)
    .await?;
    record(
        &*txn,
        who.user.id,
        Kind::OrgInvitationSent,
        org,
        None,
        client,
    )
    .await?;
    let data = json!({
        "organizationId": org.to_string(),
        "invitation": {
            "id": created.id.to_string(), "email": created.email,
            "role": created.role, "expiresAt": time(created.expires_at),
        },
        "invitedById": who.user.id.to_string(),
    });
    announce(&*txn, "organization.invitation_created", data).await?;
    // The address's `MAIL_RATE_LIMIT` (§4): over it, created but not mailed.
    if txn.spend_anonymous_budget(email.key()).await? {
        let ttl_text = templates::duration_text(limits.invitation_ttl);
        let mail = templates::invitation(
            &seen.organization.name,
            role.as_str(),
            &link(app, &token),
            &ttl_text,
        );
        txn.queue(email.as_str(), mail).await?;
    }
    txn.commit().await?;
    Ok(created)
}

/// `revokeInvitation`: a pending invitation of an organization the viewer
/// manages; OWNER invitations by an OWNER only.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    let txn = app.db.write().await?;
    let Some(inv) = invitation::Entity::find_by_id(id)
        .filter(pending_at(now()))
        .one(&txn)
        .await?
    else {
        return Err(AppError::NotFound);
    };
    let seen = locked_org(&txn, inv.organization_id, who.user.id).await?;
    let role = Role::parse(&inv.role).unwrap_or(Role::Owner);
    if !seen.role.may_handle(role) {
        return Err(AppError::Forbidden);
    }
    let ids = revoke_where(
        &txn,
        sea_orm::Condition::all().add(invitation::Column::Id.eq(id)),
    )
    .await?;
    if ids.is_empty() {
        return Err(AppError::NotFound);
    }
    revoked(&txn, inv.organization_id, ids, who.user.id, client).await?;
    txn.commit().await?;
    Ok(())
}

/// Uses the invitation up: false when another request did first, or it
/// stopped being pending.
async fn use_up(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<bool> {
    let now = now();
    let done = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Expr::value(Some(now)))
        .filter(invitation::Column::Id.eq(id))
        .filter(pending_at(now))
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Why an invitation made no membership.
#[derive(Debug)]
pub enum Refused {
    /// Not live (any more): used, revoked, replaced, expired, deleted.
    NotLive,
    /// A limit of §10.6; the invitation stays live (the caller rolls back).
    Limit(&'static str),
    Failed(AppError),
}

impl From<sea_orm::DbErr> for Refused {
    fn from(e: sea_orm::DbErr) -> Refused {
        Refused::Failed(e.into())
    }
}

/// Makes `user` a member by a live invitation, in the caller's
/// transaction: the token is used up; an existing membership is answered
/// unchanged.
pub async fn join(
    app: &AppContext,
    conn: &impl ConnectionTrait,
    inv: &invitation::Model,
    user: Uuid,
    client: &ClientInfo,
) -> Result<membership::Model, Refused> {
    let org = inv.organization_id;
    // The organization's lock, as every membership change takes it.
    let locked = crate::db::locked(conn, organization::Entity::find_by_id(org))
        .one(conn)
        .await?;
    if locked.is_none() || !use_up(conn, inv.id).await.map_err(Refused::Failed)? {
        return Err(Refused::NotLive);
    }
    if let Some(existing) = membership_of(conn, org, user).await? {
        // The token proved the mailbox all the same.
        mark_verified(conn, user).await?;
        return Ok(existing);
    }
    if ensure_room_for_user(app, conn, user, "token")
        .await
        .is_err()
    {
        return Err(Refused::Limit(
            "you belong to the most organizations allowed",
        ));
    }
    let limits = &app.settings.organizations;
    if super::members::of(org, None).count(conn).await? >= limits.max_members {
        return Err(Refused::Limit(
            "the organization has the most members allowed",
        ));
    }
    let role = Role::parse(&inv.role).unwrap_or(Role::Member);
    let member = membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        user_id: Set(user),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now()),
    }
    .insert(conn)
    .await?;
    mark_verified(conn, user).await?;
    record(conn, user, Kind::OrgMemberJoined, org, None, client).await?;
    let data = json!({
        "organizationId": org.to_string(), "userId": user.to_string(),
        "role": role.as_str(), "invitationId": inv.id.to_string(),
    });
    announce(conn, "organization.member_added", data).await?;
    Ok(member)
}

/// `acceptInvitation`: the signed-in owner of the invited address.
#[tracing::instrument(skip_all)]
pub async fn accept(
    app: &AppContext,
    who: &Authenticated,
    token: &str,
    client: &ClientInfo,
) -> AppResult<membership::Model> {
    require_session(who)?;
    let Some((inv, _)) = live(app, token).await? else {
        return Err(AppError::InvalidToken);
    };
    if who.user.email_key != inv.email_key {
        return Err(AppError::Forbidden);
    }
    let txn = app.db.write().await?;
    let member = match join(app, &txn, &inv, who.user.id, client).await {
        Ok(member) => member,
        Err(Refused::NotLive) => return Err(AppError::InvalidToken),
        Err(Refused::Limit(why)) => return Err(AppError::field("token", why)),
        Err(Refused::Failed(e)) => return Err(e),
    };
    txn.commit().await?;
    Ok(member)
}
