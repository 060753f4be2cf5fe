//! The one-time-code check, written once for activation and sign-in codes.
//!
//! Every rule that must hold across requests and instances is a single
//! conditional UPDATE: a wrong try is counted only while tries remain, and a
//! code is used up only while it is live, so aliases, batches, parallel
//! requests and several instances can never beat the limits.

use chrono::{DateTime, Utc};
use entity::one_time_code::{self, Column};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::tokens::{code_digest, constant_time_eq};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;

/// A code as typed: six ASCII digits, surrounding spaces ignored.
pub fn parse(code: &str) -> AppResult<&str> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::field("code", "must be 6 digits"));
    }
    Ok(code)
}

/// Whether the row can still be used (as read; the updates below re-check).
pub fn is_live(row: &one_time_code::Model, now: DateTime<Utc>) -> bool {
    row.consumed_at.is_none() && row.expires_at > now && row.attempts < row.max_attempts
}

/// The same as `is_live`, as a condition for queries and updates.
pub fn live(now: DateTime<Utc>) -> [SimpleExpr; 3] {
    [
        Column::ConsumedAt.is_null(),
        Column::ExpiresAt.gt(now),
        Expr::col(Column::Attempts).lt(Expr::col(Column::MaxAttempts)),
    ]
}

/// Compares `code` with the row's digest in constant time. A wrong code
/// counts one try and is `INVALID_OTP` with the tries left, or
/// `INVALID_TOKEN` once none are.
pub async fn check(app: &AppContext, row: &one_time_code::Model, code: &str) -> AppResult<()> {
    let expected = code_digest(app.settings.secret_bytes(), &row.id, code);
    if constant_time_eq(&row.code_hash, &expected) {
        return Ok(());
    }
    Err(match count_wrong_try(&app.db, row.id).await? {
        Some(attempts) => AppError::InvalidOtp {
            attempts_left: Ord::max(row.max_attempts - attempts, 0) as u32,
        },
        None => AppError::InvalidToken,
    })
}

/// Uses the code up if it is still live; true for exactly one caller.
pub async fn consume(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = one_time_code::Entity::update_many()
        .col_expr(Column::ConsumedAt, Expr::value(now))
        .filter(Column::Id.eq(id));
    for condition in live(now) {
        update = update.filter(condition);
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

/// Counts one wrong try, only while tries remain. Returns the new count,
/// or `None` when the code was already dead.
async fn count_wrong_try(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<i32>, DbErr> {
    let rows = one_time_code::Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.eq(id))
        .filter(Column::ConsumedAt.is_null())
        .filter(Expr::col(Column::Attempts).lt(Expr::col(Column::MaxAttempts)))
        .exec_with_returning(conn)
        .await?;
    Ok(rows.first().map(|r| r.attempts))
}
