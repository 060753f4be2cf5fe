//! The browser session of the provider's built-in pages (API.md §9.3): an
//! authql session opened by the page's sign-in (through `login` and
//! `verifyOtp`, so every rule of theirs holds), whose cookie is stored
//! only as its SHA-256. It has no refresh token and mints no access token:
//! only these pages and the authorization endpoint accept it.

use entity::{refresh_token, session, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::auth::tokens::{random_token, sha256_hex};
use crate::db::now;
use crate::error::AppResult;
use crate::services::AppContext;

/// A live browser session and its active user.
pub struct Browser {
    pub session: session::Model,
    pub user: user::Model,
}

/// The live browser session a cookie names, if any.
#[tracing::instrument(skip_all)]
pub async fn find(app: &AppContext, cookie: &str) -> AppResult<Option<Browser>> {
    if cookie.is_empty() || cookie.len() > 128 {
        return Ok(None);
    }
    let select = session::Entity::find()
        .filter(session::Column::BrowserHash.eq(sha256_hex(cookie)))
        .find_also_related(user::Entity);
    let Some((session, Some(user))) = app.db.read().one_also(select).await? else {
        return Ok(None);
    };
    let live = session.revoked_at.is_none() && session.expires_at > now() && user.is_active;
    Ok(live.then_some(Browser { session, user }))
}

/// Makes the session a sign-in just opened this browser's session: its
/// refresh token (never shown) is dropped, and the browser's earlier
/// session, if any, ends. Answers the new cookie's value.
#[tracing::instrument(skip_all)]
pub async fn adopt(
    app: &AppContext,
    session_id: uuid::Uuid,
    previous: Option<&str>,
) -> AppResult<String> {
    let cookie = random_token();
    let now = now();
    let txn = app.db.write().await?;
    session::Entity::update_many()
        .col_expr(
            session::Column::BrowserHash,
            Expr::value(Some(sha256_hex(&cookie))),
        )
        .filter(session::Column::Id.eq(session_id))
        .exec(&txn)
        .await?;
    refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::SessionId.eq(session_id))
        .exec(&txn)
        .await?;
    if let Some(previous) = previous.filter(|p| !p.is_empty() && p.len() <= 128) {
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Some(now)))
            .filter(session::Column::BrowserHash.eq(sha256_hex(previous)))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(cookie)
}

/// Ends the browser session a cookie names (RP-initiated logout), when it
/// is `user`'s. True when one ended.
#[tracing::instrument(skip_all)]
pub async fn end(
    conn: &impl sea_orm::ConnectionTrait,
    cookie: &str,
    user: uuid::Uuid,
) -> AppResult<bool> {
    if cookie.is_empty() || cookie.len() > 128 {
        return Ok(false);
    }
    let done = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(now())))
        .filter(session::Column::BrowserHash.eq(sha256_hex(cookie)))
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}
