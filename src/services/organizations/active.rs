//! The session's active organization (API.md §10.4): set by its member,
//! carried as `org_id`/`org_role` by every access token the session mints,
//! and kept equal to the membership by every change to it (`access`).

use entity::session;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::access::locked_org;
use crate::auth::viewer::Authenticated;
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::sessions::{self, Tokens, proof_of};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_session;

/// `setActiveOrganization`: new tokens for the same session (same `sid`
/// and `auth_time`) claiming `org` (`None` clears it); the session's
/// earlier refresh tokens are used up. An API token is `FORBIDDEN`; a
/// non-member's organization `NOT_FOUND`. A failed claims hook changes
/// nothing (the transaction rolls back).
#[tracing::instrument(skip_all)]
pub async fn set(
    app: &AppContext,
    who: &Authenticated,
    org: Option<Uuid>,
    client: &ClientInfo,
) -> AppResult<Tokens> {
    let (session_id, _) = require_session(who)?;
    let txn = app.db.write().await?;
    // Under the organization's lock: a removal or role change waits for
    // this, and this sees the membership as it is after one.
    let role = match org {
        Some(org) => Some(locked_org(&txn, org, who.user.id).await?.role),
        None => None,
    };
    let now = now();
    let updated = session::Entity::update_many()
        .col_expr(session::Column::ActiveOrgId, Expr::value(org))
        .col_expr(
            session::Column::ActiveOrgRole,
            Expr::value(role.map(|r| r.as_str().to_owned())),
        )
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::UserId.eq(who.user.id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .exec_with_returning(&txn)
        .await?;
    let Some(sess) = updated.into_iter().next() else {
        return Err(AppError::Unauthenticated);
    };
    let tokens =
        sessions::reissue(&txn, app, &sess, who.user.clone(), proof_of(&sess), client).await?;
    txn.commit().await?;
    Ok(tokens)
}
