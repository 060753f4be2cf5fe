//! Organizations themselves (API.md §10.1): creating (the creator is the
//! OWNER), renaming, deleting (an OWNER, fresh), and finding one as a
//! member sees it. To anyone who is not a member an organization does not
//! exist: `null` from queries, `NOT_FOUND` from mutations.

use entity::{membership, organization, product};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, Select, SqlErr,
};
use serde_json::json;
use uuid::Uuid;

use super::access::{self, Seen, announce, locked_org, org_data, record, rewrite_sessions};
use crate::auth::viewer::Authenticated;
use crate::db::{self, now, sql_err};
use crate::domain::SecurityEventType as Kind;
use crate::domain::organization::{self as rules, Role};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::{require_fresh, require_session};
use crate::services::shared::pagination::{Ordering, SortKey};

/// What `createOrganization` / `updateOrganization` were given.
#[derive(Debug, Default)]
pub struct OrgInput {
    pub name: Option<String>,
    pub slug: Option<String>,
}

/// A member's memberships, in the order they joined: the `organizations`
/// list pages over these.
pub fn memberships_of(user: Uuid) -> Select<membership::Entity> {
    membership::Entity::find().filter(membership::Column::UserId.eq(user))
}

/// Oldest first: the order members joined (`organizations`, `members`).
pub fn joined_order() -> Ordering<membership::Entity> {
    Ordering {
        name: "JOINED",
        column: membership::Column::CreatedAt,
        id_column: membership::Column::Id,
        descending: false,
        key: |m| SortKey::time(m.created_at),
        id: |m| m.id,
    }
}

/// The organizations of `ids` (a page's), in no order.
#[tracing::instrument(skip_all)]
pub async fn many(app: &AppContext, ids: Vec<Uuid>) -> AppResult<Vec<organization::Model>> {
    let select = organization::Entity::find().filter(organization::Column::Id.is_in(ids));
    Ok(app.db.read().all(select).await?)
}

/// The organization, if `viewer` is a member.
#[tracing::instrument(skip_all)]
pub async fn find(app: &AppContext, viewer: Uuid, id: Uuid) -> AppResult<Option<Seen>> {
    let found = app
        .db
        .read()
        .one_also(
            membership::Entity::find()
                .filter(membership::Column::OrganizationId.eq(id))
                .filter(membership::Column::UserId.eq(viewer))
                .find_also_related(organization::Entity),
        )
        .await?;
    Ok(match found {
        Some((m, Some(organization))) => Some(Seen {
            role: access::role_of(&m),
            organization,
        }),
        _ => None,
    })
}

/// By slug, compared case-insensitively, if `viewer` is a member.
#[tracing::instrument(skip_all)]
pub async fn find_by_slug(app: &AppContext, viewer: Uuid, slug: &str) -> AppResult<Option<Seen>> {
    let slug = slug.trim().to_lowercase();
    if slug.len() > 40 {
        return Ok(None);
    }
    let select = organization::Entity::find().filter(organization::Column::Slug.eq(slug));
    match app.db.read().one(select).await? {
        Some(org) => find(app, viewer, org.id).await,
        None => Ok(None),
    }
}

/// How many members an organization has.
#[tracing::instrument(skip_all)]
pub async fn member_count(app: &AppContext, org: Uuid) -> AppResult<u64> {
    let select = membership::Entity::find().filter(membership::Column::OrganizationId.eq(org));
    Ok(app.db.read().count(select).await?)
}

async fn slug_taken(
    conn: &impl ConnectionTrait,
    slug: &str,
    except: Option<Uuid>,
) -> AppResult<bool> {
    let mut select = organization::Entity::find().filter(organization::Column::Slug.eq(slug));
    if let Some(id) = except {
        select = select.filter(organization::Column::Id.ne(id));
    }
    Ok(select.count(conn).await? > 0)
}

fn taken() -> AppError {
    AppError::field("slug", "is already taken")
}

/// A write that lost a race for a slug: `BAD_USER_INPUT` on `slug`.
fn slug_race(e: sea_orm::DbErr) -> AppError {
    match sql_err(&e) {
        Some(SqlErr::UniqueConstraintViolation(_)) => taken(),
        _ => e.into(),
    }
}

/// The slug of a new organization: the one given, or one from its name.
async fn new_slug(
    conn: &impl ConnectionTrait,
    name: &str,
    given: Option<&str>,
) -> AppResult<String> {
    if let Some(raw) = given {
        let slug = rules::parse_slug(raw).map_err(|e| AppError::field("slug", &e.0))?;
        return match slug_taken(conn, &slug, None).await? {
            true => Err(taken()),
            false => Ok(slug),
        };
    }
    let base = rules::slug_from_name(name);
    if rules::derived_is_usable(&base) && !slug_taken(conn, &base, None).await? {
        return Ok(base);
    }
    for _ in 0..5 {
        let slug = rules::with_suffix(&base);
        if !slug_taken(conn, &slug, None).await? {
            return Ok(slug);
        }
    }
    Err(taken())
}

/// Refuses a user already in `ORG_MAX_MEMBERSHIPS` organizations.
pub async fn ensure_room_for_user(
    app: &AppContext,
    conn: &impl ConnectionTrait,
    user: Uuid,
    field: &str,
) -> AppResult<()> {
    // The user's row locked first: parallel creations and accepts of one
    // user count one after another (PostgreSQL; SQLite's writers already do).
    db::locked(conn, entity::user::Entity::find_by_id(user))
        .one(conn)
        .await?;
    let max = app.settings.organizations.max_memberships;
    if memberships_of(user).count(conn).await? >= max {
        return Err(AppError::field(
            field,
            &format!("a user may belong to at most {max} organizations"),
        ));
    }
    Ok(())
}

/// `createOrganization`: the organization, with its creator as OWNER.
#[tracing::instrument(skip_all)]
pub async fn create(
    app: &AppContext,
    who: &Authenticated,
    input: OrgInput,
    client: &ClientInfo,
) -> AppResult<Seen> {
    let name = rules::parse_name(input.name.as_deref().unwrap_or_default())
        .map_err(|e| AppError::field("name", &e.0))?;
    let txn = app.db.write().await?;
    ensure_room_for_user(app, &txn, who.user.id, "name").await?;
    let slug = new_slug(&txn, &name, input.slug.as_deref()).await?;
    let now = now();
    let org = organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        slug: Set(slug),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(slug_race)?;
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        user_id: Set(who.user.id),
        role: Set(Role::Owner.as_str().to_owned()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(&txn, who.user.id, Kind::OrgCreated, org.id, None, client).await?;
    let data = json!({ "organization": org_data(&org), "actorId": who.user.id.to_string() });
    announce(&txn, "organization.created", data).await?;
    txn.commit().await.map_err(slug_race)?;
    Ok(Seen {
        organization: org,
        role: Role::Owner,
    })
}

/// `updateOrganization`: OWNER or ADMIN; an empty input changes nothing.
#[tracing::instrument(skip_all)]
pub async fn update(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    input: OrgInput,
    client: &ClientInfo,
) -> AppResult<Seen> {
    let name = input
        .name
        .as_deref()
        .map(|n| rules::parse_name(n).map_err(|e| AppError::field("name", &e.0)))
        .transpose()?;
    let slug = input
        .slug
        .as_deref()
        .map(|s| rules::parse_slug(s).map_err(|e| AppError::field("slug", &e.0)))
        .transpose()?;
    let txn = app.db.write().await?;
    let seen = locked_org(&txn, id, who.user.id).await?;
    if !seen.role.manages() {
        return Err(AppError::Forbidden);
    }
    if name.is_none() && slug.is_none() {
        return Ok(seen);
    }
    if let Some(slug) = &slug
        && slug_taken(&txn, slug, Some(id)).await?
    {
        return Err(taken());
    }
    let mut org: organization::ActiveModel = seen.organization.into();
    if let Some(name) = name {
        org.name = Set(name);
    }
    if let Some(slug) = slug {
        org.slug = Set(slug);
    }
    org.updated_at = Set(now());
    let org = org.update(&txn).await.map_err(slug_race)?;
    record(&txn, who.user.id, Kind::OrgUpdated, id, None, client).await?;
    let data = json!({ "organization": org_data(&org), "actorId": who.user.id.to_string() });
    announce(&txn, "organization.updated", data).await?;
    txn.commit().await.map_err(slug_race)?;
    Ok(Seen {
        organization: org,
        role: seen.role,
    })
}

/// `deleteOrganization`: an OWNER, fresh. Its memberships, invitations
/// (their links die) and products go with it; its events stay.
#[tracing::instrument(skip_all)]
pub async fn delete(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    require_session(who)?;
    let txn = app.db.write().await?;
    let seen = locked_org(&txn, id, who.user.id).await?;
    if seen.role != Role::Owner {
        return Err(AppError::Forbidden);
    }
    require_fresh(app, who)?;
    product::Entity::delete_many()
        .filter(product::Column::OrganizationId.eq(id))
        .exec(&txn)
        .await?;
    rewrite_sessions(&txn, id, None, None).await?;
    record(&txn, who.user.id, Kind::OrgDeleted, id, None, client).await?;
    organization::Entity::delete_by_id(id).exec(&txn).await?;
    let data = json!({
        "organization": { "id": id.to_string(), "slug": seen.organization.slug },
        "actorId": who.user.id.to_string(),
    });
    announce(&txn, "organization.deleted", data).await?;
    txn.commit().await?;
    Ok(())
}
