//! The viewer's own sessions (`sessions`, `revokeSession`): listed newest
//! first, and revoked one at a time (never by an API token).

use entity::session;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::auth::viewer::Authenticated;
use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::sessions::revoke_sessions;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::security_events as events;

/// Every live session of a user, newest first.
#[tracing::instrument(skip_all)]
pub async fn list(app: &AppContext, user_id: Uuid) -> AppResult<Vec<session::Model>> {
    let live = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now()))
        .order_by_desc(session::Column::CreatedAt)
        .order_by_desc(session::Column::Id);
    Ok(app.db.read().all(live).await?)
}

/// Revokes one of the user's own sessions; another user's is `NOT_FOUND`.
/// An API token may not (API.md §8.8): it could end its owner's sessions.
#[tracing::instrument(skip_all)]
pub async fn revoke_one(
    app: &AppContext,
    who: &Authenticated,
    session_id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    if who.proof.is_none() {
        return Err(AppError::Forbidden);
    }
    let user_id = who.user.id;
    let txn = app.db.write().await?;
    let revoked = revoke_sessions(
        &txn,
        session::Column::Id
            .eq(session_id)
            .and(session::Column::UserId.eq(user_id)),
        now(),
    )
    .await?;
    if revoked == 0 {
        txn.rollback().await.ok();
        return Err(AppError::NotFound);
    }
    events::record(&txn, user_id, Kind::SessionRevoked, client, None).await?;
    txn.commit().await?;
    Ok(())
}
