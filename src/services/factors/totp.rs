//! Authenticator apps (API.md §8.4). Enrolment takes two steps, so nothing
//! changes until the user proves their app holds the secret; each time
//! step's code is accepted once (the last accepted step is stored and only
//! a later one passes, by one conditional update); the secret is sealed at
//! rest (`auth::sealed`), bound to its user.

use chrono::{DateTime, Utc};
use entity::totp_factor::{self, Column, Entity};
use entity::user;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter,
};
use uuid::Uuid;

use crate::auth::sealed;
use crate::auth::totp::{Authenticator, new_secret};
use crate::auth::viewer::Authenticated;
use crate::config::TwoFactorPolicy;
use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::lifecycle;
use crate::services::credentials::sessions;
use crate::services::factors::codes::{self, AccountCodes};
use crate::services::factors::recovery_codes;
use crate::services::shared::accounts;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_fresh;
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::security_events as events;
use crate::services::shared::two_factor;

/// The sealing purpose: a key of its own, derived from `SECRET_KEY`.
const PURPOSE: &str = "authql totp secret v1";

/// How long a begun enrolment waits for its confirming code.
const ENROLMENT_TTL_MINUTES: i64 = 15;

/// What `beginTotpEnrollment` shows (once): the secret three ways.
pub struct Enrollment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_code_svg: String,
}

fn seal(app: &AppContext, user_id: Uuid, secret: &[u8]) -> String {
    sealed::seal(
        app.settings.secret_bytes(),
        PURPOSE,
        user_id.as_bytes(),
        secret,
    )
}

fn open(app: &AppContext, user_id: Uuid, stored: &str) -> AppResult<Vec<u8>> {
    sealed::open(
        app.settings.secret_bytes(),
        PURPOSE,
        user_id.as_bytes(),
        stored,
    )
    .ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "a TOTP secret does not open: was SECRET_KEY changed?"
        ))
    })
}

fn authenticator(app: &AppContext, user: &user::Model, secret: Vec<u8>) -> Authenticator {
    Authenticator::new(secret, &app.settings.totp_issuer, &user.email)
}

fn unix_secs(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

/// Starts (or restarts) an enrolment: a new secret, kept aside until
/// `confirm_enrollment`; an app already on stays on meanwhile.
#[tracing::instrument(skip_all)]
pub async fn begin_enrollment(app: &AppContext, who: &Authenticated) -> AppResult<Enrollment> {
    require_fresh(app, who)?;
    if app.settings.two_factor == TwoFactorPolicy::Off {
        return Err(AppError::Forbidden);
    }
    let secret = new_secret();
    let sealed = seal(app, who.user.id, &secret);
    let row = totp_factor::ActiveModel {
        user_id: Set(who.user.id),
        secret: Set(None),
        last_step: Set(None),
        enabled_at: Set(None),
        pending_secret: Set(Some(sealed)),
        pending_created_at: Set(Some(now())),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::UserId)
                .update_columns([Column::PendingSecret, Column::PendingCreatedAt])
                .to_owned(),
        )
        .exec(app.db.alone())
        .await?;
    let app_entry = authenticator(app, &who.user, secret);
    Ok(Enrollment {
        secret: app_entry.secret_base32(),
        otpauth_uri: app_entry.uri(),
        qr_code_svg: app_entry.qr_svg(),
    })
}

/// Turns the app on once it shows a right code for the begun enrolment,
/// and returns the first set of recovery codes. A wrong code is counted on
/// the account's code counter like any other.
#[tracing::instrument(skip_all)]
pub async fn confirm_enrollment(
    app: &AppContext,
    who: &Authenticated,
    code: &str,
    client: &ClientInfo,
) -> AppResult<Vec<String>> {
    require_fresh(app, who)?;
    let code = codes::parse(code)?;
    let now = now();
    let pending = app
        .db
        .read()
        .one(Entity::find_by_id(who.user.id))
        .await?
        .and_then(|row| Some((row.pending_secret?, row.pending_created_at?)))
        .filter(|(_, at)| now - *at <= chrono::Duration::minutes(ENROLMENT_TTL_MINUTES));
    let Some((sealed, _)) = pending else {
        return Err(AppError::field(
            "code",
            "no enrolment is waiting for a code: call beginTotpEnrollment first",
        ));
    };
    let account = AccountCodes::new(&app.settings, who.user.id);
    let account_left = account.begin(app.db.alone()).await?;
    let secret = open(app, who.user.id, &sealed)?;
    let Some(step) = authenticator(app, &who.user, secret).matching_step(code, unix_secs(now))
    else {
        events::record_alone(
            &app.db,
            who.user.id,
            Kind::SecondFactorFailed,
            client,
            events::How::default(),
        )
        .await;
        return Err(AppError::InvalidOtp {
            attempts_left: account_left,
        });
    };
    let txn = WriteTxn::begin(app).await?;
    // The enrolment confirmed is the one read: a parallel begin or confirm
    // changed it, and this code proves nothing about the new secret.
    let moved = Entity::update_many()
        .col_expr(Column::Secret, Expr::col(Column::PendingSecret))
        .col_expr(Column::LastStep, Expr::value(step as i64))
        .col_expr(Column::EnabledAt, Expr::value(now))
        .col_expr(Column::PendingSecret, Expr::value(Option::<String>::None))
        .col_expr(
            Column::PendingCreatedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::UserId.eq(who.user.id))
        .filter(Column::PendingSecret.eq(sealed))
        .exec(&*txn)
        .await?;
    if moved.rows_affected != 1 {
        txn.rollback().await;
        return Err(AppError::field(
            "code",
            "the enrolment changed meanwhile: call beginTotpEnrollment again",
        ));
    }
    let user = accounts::current(&*txn, who.user.id).await?;
    // The account's first second factor, in a fresh session: the session
    // proved the password and now the app's code (API.md §8.8).
    let first_factor = !two_factor::any_on(app, &user);
    let mut active: user::ActiveModel = user.into();
    active.totp_enabled = Set(true);
    active.updated_at = Set(now);
    let user = active.update(&*txn).await?;
    let plain = recovery_codes::replace(&*txn, app, user.id, client).await?;
    account.clear(&*txn).await?;
    lifecycle::added(&txn, &user, factor(client)).await?;
    if first_factor {
        sessions::raise_with_first_factor(&*txn, who).await?;
    }
    txn.commit().await?;
    Ok(plain)
}

/// The app as a credential of the lifecycle (API.md §8.8).
fn factor(client: &ClientInfo) -> lifecycle::Change<'_> {
    lifecycle::Change::by_owner(lifecycle::Kind::Totp, None, client)
}

/// Turns the app off. The emailed code stays as it was, and the recovery
/// codes stay only while it is on. Nothing to turn off is no change.
#[tracing::instrument(skip_all)]
pub async fn disable(
    app: &AppContext,
    who: &Authenticated,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    require_fresh(app, who)?;
    let txn = WriteTxn::begin(app).await?;
    let user = accounts::current(&*txn, who.user.id).await?;
    Entity::delete_by_id(user.id).exec(&*txn).await?;
    if !user.totp_enabled {
        txn.commit().await?;
        return Ok(user);
    }
    let mut active: user::ActiveModel = user.into();
    active.totp_enabled = Set(false);
    active.updated_at = Set(now());
    let user = active.update(&*txn).await?;
    if !two_factor::email_on(app, &user) {
        recovery_codes::void(&*txn, user.id).await?;
    }
    lifecycle::removed(&txn, &user, factor(client)).await?;
    txn.commit().await?;
    Ok(user)
}

/// Accepts `code` from the user's app when it matches a time step later
/// than the last accepted one, and records that step: true for exactly one
/// caller per step, however many try at once.
#[tracing::instrument(skip_all)]
pub async fn claim(
    conn: &impl ConnectionTrait,
    app: &AppContext,
    user: &user::Model,
    code: &str,
) -> AppResult<bool> {
    let Some(sealed) = Entity::find_by_id(user.id)
        .one(conn)
        .await?
        .and_then(|row| row.secret)
    else {
        return Ok(false);
    };
    let secret = open(app, user.id, &sealed)?;
    let Some(step) = authenticator(app, user, secret).matching_step(code, unix_secs(now())) else {
        return Ok(false);
    };
    let step = step as i64;
    let claimed = Entity::update_many()
        .col_expr(Column::LastStep, Expr::value(step))
        .filter(Column::UserId.eq(user.id))
        .filter(Column::Secret.is_not_null())
        .filter(
            Condition::any()
                .add(Column::LastStep.is_null())
                .add(Column::LastStep.lt(step)),
        )
        .exec(conn)
        .await?;
    Ok(claimed.rows_affected == 1)
}
