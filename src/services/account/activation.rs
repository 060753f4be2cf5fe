//! Activating an account: by the mailed link or the mailed 6-digit code,
//! and resending that mail.

use chrono::{DateTime, Utc};
use entity::one_time_code::{self, PURPOSE_ACTIVATION};
use entity::user;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::auth::link_token::{self, LinkPurpose};
use crate::auth::tokens::{code_digest, six_digit_code};
use crate::db::now;
use crate::domain::Email;
use crate::error::{AppError, AppResult};
use crate::mail::templates;
use crate::services::AppContext;
use crate::services::credentials::login_limits::LoginLimits;
use crate::services::factors::codes;
use crate::services::shared::accounts::{activate, awaits_activation, find_by_email, find_by_id};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::mail::{Budget, WriteTxn};
use crate::services::shared::rate_limit;

/// How an activation link was received.
pub enum LinkActivation {
    /// This link activated the account.
    Activated(Box<user::Model>),
    /// The account was already active (say, a mail scanner opened the link first).
    AlreadyActive,
}

/// Replaces any earlier activation code with a new one and queues the mail
/// carrying it and a fresh link.
#[tracing::instrument(skip_all)]
pub async fn send_activation(
    txn: &WriteTxn,
    app: &AppContext,
    user: &user::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let settings = &app.settings;
    one_time_code::Entity::delete_many()
        .filter(one_time_code::Column::UserId.eq(user.id))
        .filter(one_time_code::Column::Purpose.eq(PURPOSE_ACTIVATION))
        .exec(&**txn)
        .await?;
    let id = Uuid::now_v7();
    let code = six_digit_code();
    let otp_ttl =
        chrono::Duration::from_std(settings.otp_ttl).unwrap_or(chrono::Duration::minutes(10));
    one_time_code::ActiveModel {
        id: Set(id),
        user_id: Set(user.id),
        purpose: Set(PURPOSE_ACTIVATION.to_owned()),
        challenge_hash: Set(None),
        code_hash: Set(code_digest(settings.secret_bytes(), &id, &code)),
        attempts: Set(0),
        max_attempts: Set(settings.otp_max_attempts as i32),
        resends: Set(0),
        last_sent_at: Set(now),
        expires_at: Set(now + otp_ttl),
        consumed_at: Set(None),
        created_at: Set(now),
        session_id: Set(None),
        method: Set("EMAIL".to_owned()),
        first_step: Set("pwd".to_owned()),
        provider: Set(None),
        link_code_id: Set(None),
    }
    .insert(&**txn)
    .await?;
    let token = link_token::make(settings.secret_bytes(), LinkPurpose::Activation, user, now);
    let url = format!(
        "{}/activate/{}/{}",
        settings.public_url,
        link_token::uid_for(user.id),
        token
    );
    let mail = templates::activation(
        &url,
        &code,
        &templates::duration_text(settings.activation_token_ttl),
        &templates::duration_text(settings.otp_ttl),
    );
    txn.mail(user, mail, Budget::Anonymous).await?;
    Ok(())
}

/// Activates the account a link names, if the link is genuine and fresh.
#[tracing::instrument(skip_all)]
pub async fn activate_with_link(
    app: &AppContext,
    uid: &str,
    token: &str,
    client: &ClientInfo,
) -> AppResult<LinkActivation> {
    let settings = &app.settings;
    let user_id = link_token::user_id_from_uid(uid).ok_or(AppError::InvalidToken)?;
    let now = now();
    let txn = app.db.write().await?;
    let user = find_by_id(&txn, user_id)
        .await?
        .ok_or(AppError::InvalidToken)?;
    let ttl = settings.activation_token_ttl;
    let secret = settings.secret_bytes();
    if awaits_activation(&user) {
        if !link_token::check(secret, LinkPurpose::Activation, &user, token, ttl, now) {
            return Err(AppError::InvalidToken);
        }
        let activated = activate(&txn, user, now, client).await?;
        txn.commit().await?;
        return Ok(LinkActivation::Activated(Box::new(activated)));
    }
    txn.rollback().await.ok();
    // The link was made while the account was inactive; recognise it as
    // genuine by checking it against that state.
    let as_issued = user::Model {
        is_active: false,
        ..user.clone()
    };
    if user.is_active
        && link_token::check(secret, LinkPurpose::Activation, &as_issued, token, ttl, now)
    {
        Ok(LinkActivation::AlreadyActive)
    } else {
        Err(AppError::InvalidToken)
    }
}

/// Activates with the 6-digit code from the activation mail. Wrong codes
/// are counted atomically in the database, on the account's code counter,
/// and against the sign-in rate limits of the address and the client IP.
/// A wrong code answers `INVALID_TOKEN` whether the address is unknown,
/// active or pending (API.md §8.1): the answer tells no address apart.
#[tracing::instrument(skip_all)]
pub async fn activate_with_code(
    app: &AppContext,
    email: &str,
    code: &str,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    let settings = &app.settings;
    let email = Email::parse(email).map_err(|e| AppError::field("email", &e.0))?;
    let code = codes::parse(code)?;
    let limits = LoginLimits::new(settings, email.key(), &client.ip);
    let attempt = limits.begin(&app.db, settings.hash_queue_timeout).await?;
    let now = now();
    let user = find_by_email(app.db.alone(), &email).await?;
    let pending = match &user {
        Some(u) if awaits_activation(u) => live_activation_code(app.db.alone(), u.id, now).await?,
        _ => None,
    };
    let (Some(user), Some(row)) = (user, pending) else {
        attempt.failed().await?;
        return Err(AppError::InvalidToken);
    };
    if let Err(e) = codes::check(app, &row, code).await {
        attempt.failed().await?;
        return Err(match e {
            AppError::InvalidOtp { .. } => AppError::InvalidToken,
            other => other,
        });
    }
    let txn = app.db.write().await?;
    let consumed = codes::consume(&txn, row.id, now).await?;
    let fresh = find_by_id(&txn, user.id).await?;
    match fresh {
        Some(u) if consumed && awaits_activation(&u) => {
            let activated = activate(&txn, u, now, client).await?;
            txn.commit().await?;
            attempt.succeeded().await?;
            Ok(activated)
        }
        _ => {
            txn.rollback().await.ok();
            attempt.withdraw().await?;
            Err(AppError::InvalidToken)
        }
    }
}

async fn live_activation_code(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<one_time_code::Model>, DbErr> {
    let mut query = one_time_code::Entity::find()
        .filter(one_time_code::Column::UserId.eq(user_id))
        .filter(one_time_code::Column::Purpose.eq(PURPOSE_ACTIVATION));
    for condition in codes::live(now) {
        query = query.filter(condition);
    }
    query
        .order_by_desc(one_time_code::Column::CreatedAt)
        .one(conn)
        .await
}

/// Mails a new link and code to an account that awaits activation; for any
/// other address it does nothing, and the answer is the same.
#[tracing::instrument(skip_all)]
pub async fn resend_activation(app: &AppContext, email: &str, client_ip: &str) -> AppResult<()> {
    let email = Email::parse(email).map_err(|e| AppError::field("email", &e.0))?;
    let now = now();
    rate_limit::mail_request_allowed(app, client_ip, now).await?;
    let txn = WriteTxn::begin(app).await?;
    if let Some(user) = find_by_email(&*txn, &email).await?
        && awaits_activation(&user)
    {
        send_activation(&txn, app, &user, now).await?;
    }
    txn.commit().await?;
    Ok(())
}
