//! `lastUsedAt` of sessions and API tokens, written at most once a minute
//! and off the request's path: shared by both checks, below both.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// `lastUsedAt` is written at most this often per session or token: a
/// write per request would serialise all traffic on the database.
pub const LAST_USED_RESOLUTION: chrono::Duration = chrono::Duration::seconds(60);

/// Records use in the background: the request need not wait for it, and
/// the condition keeps concurrent requests from writing more than once a
/// minute. Serves sessions and API tokens alike.
pub fn touch_last_used<E>(
    db: &crate::db::Db,
    id_col: E::Column,
    used_col: E::Column,
    id: Uuid,
    now: DateTime<Utc>,
) where
    E: EntityTrait,
    E::Column: Send + 'static,
{
    let db = db.clone();
    tokio::spawn(async move {
        let stale = now - LAST_USED_RESOLUTION;
        let result = E::update_many()
            .col_expr(used_col, Expr::value(now))
            .filter(id_col.eq(id))
            .filter(used_col.is_null().or(used_col.lt(stale)))
            .exec(db.alone())
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record last use");
        }
    });
}
