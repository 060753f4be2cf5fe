//! Long-lived API tokens, DRF's `TokenAuthentication`: `Authorization:
//! Token aql_…`. Shown once, stored as a SHA-256 digest, revocable.

use chrono::{DateTime, Utc};
use entity::{api_token, user};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use crate::auth::tokens::{random_token, sha256_hex};
use crate::auth::viewer::{Authenticated, Credential};
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::lifecycle;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh;
use crate::services::shared::last_used::{LAST_USED_RESOLUTION, touch_last_used};
use crate::services::shared::mail::WriteTxn;

/// Marks authql tokens, so a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "aql_";
const PREFIX_SHOWN: usize = 12;
const MAX_DAYS: i32 = 3650;

pub struct Created {
    pub token: String,
    pub row: api_token::Model,
}

#[tracing::instrument(skip_all)]
pub async fn create(
    app: &AppContext,
    who: &Authenticated,
    name: &str,
    expires_in_days: Option<i32>,
    client: &ClientInfo,
) -> AppResult<Created> {
    // Only a fresh sign-in can mint tokens: neither a leaked API token nor a
    // stolen access token may make itself permanent.
    fresh::require_fresh(app, who)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::field("name", "must be 1 to 100 characters"));
    }
    if let Some(days) = expires_in_days
        && !(1..=MAX_DAYS).contains(&days)
    {
        return Err(AppError::field(
            "expiresInDays",
            &format!("must be between 1 and {MAX_DAYS}"),
        ));
    }
    let now = now();
    let token = format!("{TOKEN_PREFIX}{}", random_token());
    let txn = WriteTxn::begin(app).await?;
    let row = api_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(who.user.id),
        name: Set(name.to_owned()),
        prefix: Set(token.chars().take(PREFIX_SHOWN).collect()),
        token_hash: Set(sha256_hex(&token)),
        created_at: Set(now),
        last_used_at: Set(None),
        expires_at: Set(expires_in_days.map(|d| now + chrono::Duration::days(d.into()))),
        revoked_at: Set(None),
    }
    .insert(&*txn)
    .await?;
    let change = lifecycle::Change::by_owner(lifecycle::Kind::ApiToken, Some(&row.name), client);
    lifecycle::added(&txn, &who.user, change).await?;
    txn.commit().await?;
    Ok(Created { token, row })
}

/// The user's tokens that still work, newest first.
#[tracing::instrument(skip_all)]
pub async fn list(app: &AppContext, user_id: Uuid) -> AppResult<Vec<api_token::Model>> {
    let now = now();
    let live = api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .filter(
            api_token::Column::ExpiresAt
                .is_null()
                .or(api_token::Column::ExpiresAt.gt(now)),
        )
        .order_by_desc(api_token::Column::CreatedAt)
        .order_by_desc(api_token::Column::Id);
    Ok(app.db.read().all(live).await?)
}

/// Revokes one of the user's tokens; returns whether one was revoked.
#[tracing::instrument(skip_all)]
pub async fn revoke_token(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let result = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(now))
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Revokes one of the user's tokens, with the lifecycle's notice and
/// event. A request made with an API token may end only that token
/// (API.md §8.8): a leaked one cannot revoke its owner's others.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    if matches!(who.credential, Credential::ApiToken(own) if own != id) {
        return Err(AppError::Forbidden);
    }
    let user = &who.user;
    let txn = WriteTxn::begin(app).await?;
    if revoke_token(&*txn, user.id, id, now()).await? {
        let change = lifecycle::Change::by_owner(lifecycle::Kind::ApiToken, None, client);
        lifecycle::removed(&txn, user, change).await?;
        txn.commit().await?;
        Ok(())
    } else {
        txn.rollback().await;
        Err(AppError::NotFound)
    }
}

/// The per-request check of `Authorization: Token …`: one query by the
/// unique digest, joined with the user.
#[tracing::instrument(skip_all)]
pub async fn authenticate(app: &AppContext, token: &str) -> AppResult<Authenticated> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Err(AppError::Unauthenticated);
    }
    let now = now();
    let by_hash = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(sha256_hex(token)))
        .find_also_related(user::Entity);
    let Some((row, Some(user))) = app.db.read().one_also(by_hash).await? else {
        return Err(AppError::Unauthenticated);
    };
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|t| t <= now) || !user.is_active {
        return Err(AppError::Unauthenticated);
    }
    if row
        .last_used_at
        .is_none_or(|t| t < now - LAST_USED_RESOLUTION)
    {
        touch_last_used::<api_token::Entity>(
            &app.db,
            api_token::Column::Id,
            api_token::Column::LastUsedAt,
            row.id,
            now,
        );
    }
    Ok(Authenticated {
        user,
        credential: Credential::ApiToken(row.id),
        organization: None,
        proof: None,
    })
}
