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
use crate::auth::tokens::random_token;
use crate::db::{now, sql_err};
use crate::domain::{Email, SecurityEventType as Kind};
use crate::error::AppResult;
use crate::services::AppContext;
use crate::services::credentials::lifecycle;
use crate::services::shared::accounts::{self, awaits_activation, find_by_email};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::security_events as events;
use crate::services::shared::webhook_outbox;
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

/// Gives back a record a right code used up, and the try it counted,
/// when the sign-in then failed with `HOOK_FAILED`, which uses nothing up.
pub async fn release(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(
            Column::ConsumedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await
        .map(drop)
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
    let txn = WriteTxn::begin(app).await?;
    if !consume(&*txn, row.id, how, now).await? {
        txn.rollback().await;
        return Ok(None);
    }
    let Some(user) = account(&txn, app, row, client).await? else {
        txn.rollback().await;
        return Ok(None);
    };
    let code = match how {
        Use::Link => {
            let challenge = row.code_challenge.clone();
            Some(exchange::issue(&*txn, app, user.id, Method::Email, challenge, now).await?)
        }
        Use::Code => None,
    };
    txn.commit().await?;
    Ok(Some(Proved { user, code }))
}

/// The account the record's address signs in to, proved by this use.
async fn account(
    txn: &WriteTxn,
    app: &AppContext,
    row: &email_sign_in::Model,
    client: &ClientInfo,
) -> Result<Option<user::Model>, DbErr> {
    let now = now();
    let Ok(email) = Email::parse(&row.email) else {
        return Ok(None);
    };
    let conn: &DatabaseTransaction = txn;
    match find_by_email(conn, &email).await? {
        Some(user) if user.deactivated_at.is_some() => Ok(None),
        Some(user) if awaits_activation(&user) => {
            let mut pending: user::ActiveModel = user.into();
            pending.password_hash = Set(accounts::unusable_password());
            let user = pending.update(conn).await?;
            Ok(Some(accounts::activate(conn, user, now, client).await?))
        }
        Some(user) if !user.email_verified => Ok(Some(first_proof(txn, user, client).await?)),
        Some(user) => Ok(Some(user)),
        None if app.settings.sign_in.email_sign_in_signup => {
            let mut new = accounts::new_account(&email, None, accounts::unusable_password(), now);
            new.is_active = Set(true);
            new.activated_at = Set(Some(now));
            new.email_verified = Set(true);
            let user = match new.insert(conn).await {
                Ok(user) => user,
                // A `register` of the address won a race (PostgreSQL; SQLite
                // serialises writers): the record stays for another try.
                Err(e) if matches!(sql_err(&e), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            events::record(conn, user.id, Kind::AccountRegistered, client, None).await?;
            webhook_outbox::user_created(conn, &user).await?;
            Ok(Some(user))
        }
        None => Ok(None),
    }
}

/// The first proof of an active account's address (one made without
/// activation, by `create-superuser` or by an import): whoever set its
/// password never proved the address, so, as a password reset would, the
/// password goes and so does everything added with it (sessions, API
/// tokens, passkeys, a pending address change), and the owner is told.
/// Otherwise whoever registered the address first would keep a way in
/// to the account its real owner now uses.
async fn first_proof(
    txn: &WriteTxn,
    user: user::Model,
    client: &ClientInfo,
) -> Result<user::Model, DbErr> {
    let had_password = !user.password_hash.starts_with('!');
    let mut proved: user::ActiveModel = user.into();
    proved.email_verified = Set(true);
    if had_password {
        proved.password_hash = Set(accounts::unusable_password());
        proved.security_stamp = Set(random_token());
    }
    let user = proved.update(&**txn).await?;
    if had_password {
        lifecycle::end_at_recovery(txn, user.id, client, now()).await?;
        txn.notify(
            &user,
            "signing in by email proved this address for the first time, so the password set without that proof, the sessions, API tokens and passkeys made with it were removed (a password reset sets a new password)",
        )
        .await?;
    }
    Ok(user)
}
