//! What using an email sign-in record proves (API.md §9.2): the address.
//! A pending account becomes active and verified and loses the password it
//! was registered with (whoever registered never proved the address); an
//! unknown address becomes a new active, verified account without a
//! password (sign-up by email on); a deactivated account gets nothing.

use chrono::{DateTime, Utc};
use entity::email_sign_in::{self, Column, Entity};
use entity::user;
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, SqlErr,
};
use uuid::Uuid;

use crate::auth::assurance::Method;
use crate::db::{now, sql_err};
use crate::domain::{Email, SecurityEventType as Kind};
use crate::error::AppResult;
use crate::services::AppContext;
use crate::services::shared::accounts::{self, awaits_activation, find_by_email};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::security_events as events;
use crate::services::signin::exchange;

/// How a record is being used.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Code,
    Link,
}

/// The record's live conditions, for the updates that count and use it.
pub fn live(now: DateTime<Utc>) -> [SimpleExpr; 3] {
    [
        Column::ConsumedAt.is_null(),
        Column::ExpiresAt.gt(now),
        Expr::col(Column::Attempts).lt(Expr::col(Column::MaxAttempts)),
    ]
}

/// Uses the record up if it is still live (a right code was counted as a
/// try, so up to its last one): true for exactly one caller.
async fn consume(
    conn: &impl ConnectionTrait,
    id: Uuid,
    how: Use,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::ConsumedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::ConsumedAt.is_null())
        .filter(Column::ExpiresAt.gt(now));
    if how == Use::Link {
        update = update.filter(Expr::col(Column::Attempts).lt(Expr::col(Column::MaxAttempts)));
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

/// A used record: its account, and for a link the exchange code that
/// finishes the sign-in in the app.
pub struct Proved {
    pub user: user::Model,
    pub code: Option<String>,
}

/// Uses the record up and proves its address, in one transaction: `None`
/// when another use won, or the address may not be signed in to.
#[tracing::instrument(skip_all)]
pub async fn prove(
    app: &AppContext,
    row: &email_sign_in::Model,
    how: Use,
    client: &ClientInfo,
) -> AppResult<Option<Proved>> {
    let now = now();
    let txn = app.db.write().await?;
    if !consume(&txn, row.id, how, now).await? {
        txn.rollback().await.ok();
        return Ok(None);
    }
    let Some(user) = account(&txn, app, row, client).await? else {
        txn.rollback().await.ok();
        return Ok(None);
    };
    let code = match how {
        Use::Link => {
            let challenge = row.code_challenge.clone();
            Some(exchange::issue(&txn, app, user.id, Method::Email, challenge, now).await?)
        }
        Use::Code => None,
    };
    txn.commit().await?;
    Ok(Some(Proved { user, code }))
}

/// The account the record's address signs in to, proved by this use.
async fn account(
    txn: &DatabaseTransaction,
    app: &AppContext,
    row: &email_sign_in::Model,
    client: &ClientInfo,
) -> Result<Option<user::Model>, DbErr> {
    let now = now();
    let Ok(email) = Email::parse(&row.email) else {
        return Ok(None);
    };
    match find_by_email(txn, &email).await? {
        Some(user) if user.deactivated_at.is_some() => Ok(None),
        Some(user) if awaits_activation(&user) => {
            let mut pending: user::ActiveModel = user.into();
            pending.password_hash = Set(accounts::unusable_password());
            let user = pending.update(txn).await?;
            Ok(Some(accounts::activate(txn, user, now, client).await?))
        }
        Some(user) if !user.email_verified => {
            accounts::mark_verified(txn, user.id).await?;
            Ok(Some(user::Model {
                email_verified: true,
                ..user
            }))
        }
        Some(user) => Ok(Some(user)),
        None if app.settings.sign_in.email_sign_in_signup => {
            let mut new = accounts::new_account(&email, None, accounts::unusable_password(), now);
            new.is_active = Set(true);
            new.activated_at = Set(Some(now));
            new.email_verified = Set(true);
            let user = match new.insert(txn).await {
                Ok(user) => user,
                // A `register` of the address won a race (PostgreSQL; SQLite
                // serialises writers): the record stays for another try.
                Err(e) if matches!(sql_err(&e), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            events::record(txn, user.id, Kind::AccountRegistered, client, None).await?;
            Ok(Some(user))
        }
        None => Ok(None),
    }
}
