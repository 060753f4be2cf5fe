//! The one-time-code check, written once for activation and sign-in codes
//! (emailed, from an app, or a recovery code).
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
use crate::config::{RateLimit, Settings};
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::rate_limit::{self, Verdict};

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

/// Sign-in code mails one account may be sent per `LOGIN_RATE_LIMIT`
/// window (API.md §8.8).
pub const SIGN_IN_MAILS: u32 = 5;

/// Spends one of the account's sign-in code mails, in the transaction that
/// queues the mail: past `SIGN_IN_MAILS` in a window the right password
/// (or other first step) is answered `RATE_LIMITED` and nothing is mailed,
/// so no one who knows the password can flood the urgent queue.
#[tracing::instrument(skip_all)]
pub async fn spend_sign_in_mail(
    conn: &impl ConnectionTrait,
    settings: &Settings,
    user_id: Uuid,
) -> AppResult<()> {
    let limit = RateLimit {
        max: SIGN_IN_MAILS,
        window: settings.login_rate_limit.window,
    };
    let key = rate_limit::key("sign-in-mail", &user_id.to_string());
    match rate_limit::hit(conn, &key, limit, now()).await? {
        Verdict::Allowed => Ok(()),
        Verdict::Limited { retry_after_secs } => Err(AppError::RateLimited { retry_after_secs }),
    }
}

/// The account's own count of wrong codes (activation and sign-in codes
/// alike), however many challenges, resends or logins they come through:
/// at most 2 × `OTP_MAX_ATTEMPTS` per `LOGIN_RATE_LIMIT` window. Only a
/// right code or a completed password reset clears it, never a right
/// password (API.md §8.1): two-factor exists for the attacker who has it.
pub struct AccountCodes {
    key: String,
    limit: RateLimit,
}

impl AccountCodes {
    pub fn new(settings: &Settings, user_id: Uuid) -> AccountCodes {
        AccountCodes::of("codes", &user_id.to_string(), settings)
    }

    /// The same budget for an address no account has (an email sign-in
    /// that would make the account): known and unknown addresses run out
    /// alike, so the answer tells none apart.
    pub fn for_address(settings: &Settings, email_key: &str) -> AccountCodes {
        AccountCodes::of("codes-address", email_key, settings)
    }

    fn of(scope: &str, subject: &str, settings: &Settings) -> AccountCodes {
        AccountCodes {
            key: rate_limit::key(scope, subject),
            limit: RateLimit {
                max: settings.otp_max_attempts.saturating_mul(2),
                window: settings.login_rate_limit.window,
            },
        }
    }

    /// Counts this code before it is judged (so parallel guesses cannot
    /// pass the budget); past the budget every code is `RATE_LIMITED`,
    /// right ones too. Returns how many more wrong codes the account has.
    pub async fn begin(&self, conn: &impl ConnectionTrait) -> AppResult<u32> {
        let (verdict, count) = rate_limit::hit_counting(conn, &self.key, self.limit, now()).await?;
        match verdict {
            Verdict::Limited { retry_after_secs } => {
                Err(AppError::RateLimited { retry_after_secs })
            }
            Verdict::Allowed => Ok(self.limit.max.saturating_sub(count)),
        }
    }

    pub async fn clear(&self, conn: &impl ConnectionTrait) -> Result<(), DbErr> {
        rate_limit::clear(conn, &self.key).await
    }
}

/// Compares `code` with the row's digest in constant time, counted first on
/// the account (`AccountCodes`); a wrong one is `wrong_try`.
#[tracing::instrument(skip_all)]
pub async fn check(app: &AppContext, row: &one_time_code::Model, code: &str) -> AppResult<()> {
    let account = AccountCodes::new(&app.settings, row.user_id);
    let account_left = account.begin(app.db.alone()).await?;
    let expected = code_digest(app.settings.secret_bytes(), &row.id, code);
    if constant_time_eq(&row.code_hash, &expected) {
        account.clear(app.db.alone()).await?;
        return Ok(());
    }
    Err(wrong_try(app, row, account_left).await?)
}

/// Counts a wrong code on its row (the account counted it already) and
/// says so: `INVALID_OTP` with the tries left (the fewer of the row's and
/// the account's), or `INVALID_TOKEN` once the row has none.
#[tracing::instrument(skip_all)]
pub async fn wrong_try(
    app: &AppContext,
    row: &one_time_code::Model,
    account_left: u32,
) -> Result<AppError, DbErr> {
    let attempts = count_wrong_try(app.db.alone(), row.id).await?;
    Ok(wrong_answer(row, attempts, account_left))
}

/// The answer to a wrong code whose row now counts `attempts` (`None`: it
/// was already dead): `INVALID_OTP` with the tries left (the fewer of the
/// row's and the account's), or `INVALID_TOKEN`.
pub fn wrong_answer(
    row: &one_time_code::Model,
    attempts: Option<i32>,
    account_left: u32,
) -> AppError {
    match attempts {
        Some(attempts) => AppError::InvalidOtp {
            attempts_left: Ord::min(
                Ord::max(row.max_attempts - attempts, 0) as u32,
                account_left,
            ),
        },
        None => AppError::InvalidToken,
    }
}

/// Gives back a code that `consume` took for judging and counts the wrong
/// try, in the transaction that judged it (SECURITY.md rule 5): while one
/// guess is judged the row is used up, so parallel guesses wait or fail,
/// and at most `max_attempts` are ever compared. Returns the new count.
#[tracing::instrument(skip_all)]
pub async fn release_wrong(conn: &impl ConnectionTrait, id: Uuid) -> Result<i32, DbErr> {
    let rows = one_time_code::Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(
            Column::ConsumedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Id.eq(id))
        .exec_with_returning(conn)
        .await?;
    Ok(rows.first().map_or(i32::MAX, |r| r.attempts))
}

/// Uses the code up if it is still live; true for exactly one caller.
#[tracing::instrument(skip_all)]
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
