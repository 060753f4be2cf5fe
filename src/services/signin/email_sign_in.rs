//! Passwordless sign-in by email (API.md §9.2): one record per address
//! with a link and a 6-digit code; using either uses both.
//!
//! The request answers the same for every well-formed address. Wrong codes
//! are counted before they are judged, by one conditional update on the
//! record (so parallel guesses never pass `OTP_MAX_ATTEMPTS`), on the
//! account's code counter (or the address's, when no account has it) and
//! on the identifier's sign-in limit. The link's `GET` only shows a page
//! (mail scanners fetch links); its `POST` uses the record up.

use chrono::{DateTime, Utc};
use entity::email_sign_in::{self, Column, Entity};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};
use url::Url;
use uuid::Uuid;

use crate::auth::assurance::Method;
use crate::auth::tokens::{
    code_digest, constant_time_eq, random_token, sha256_hex, six_digit_code,
};
use crate::db::now;
use crate::domain::{Email, SecurityEventType as Kind};
use crate::error::{AppError, AppResult};
use crate::mail::templates;
use crate::services::AppContext;
use crate::services::credentials::login_limits::{LoginLimits, first_refusal};
use crate::services::factors::codes::{self, AccountCodes};
use crate::services::shared::accounts::find_by_email;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::rate_limit;
use crate::services::shared::security_events::{self as events, How};
use crate::services::signin::email_account::{self, Proved, Use, live};
use crate::services::signin::login::{LoginOutcome, after_first_step};

fn enabled(app: &AppContext) -> AppResult<()> {
    match app.settings.sign_in.email_sign_in {
        true => Ok(()),
        false => Err(AppError::Forbidden),
    }
}

fn parse_email(raw: &str) -> AppResult<Email> {
    Email::parse(raw).map_err(|e| AppError::field("email", &e.0))
}

/// `requestEmailSignIn`: checks its input, then (within the address's mail
/// budget) replaces the address's record and mails a code, and a link
/// when there is a redirect target. Mailed: an active or pending account,
/// an unknown address when sign-up by email is on; never a deactivated one.
#[tracing::instrument(skip_all)]
pub async fn request(
    app: &AppContext,
    email: &str,
    redirect_to: Option<&str>,
    code_challenge: Option<&str>,
    client: &ClientInfo,
) -> AppResult<()> {
    enabled(app)?;
    let settings = &app.settings.sign_in;
    let email = parse_email(email)?;
    let target = match redirect_to {
        Some(raw) => Some(settings.redirect_target(Some(raw)).ok_or_else(|| {
            AppError::field(
                "redirectTo",
                "is not an allowed redirect URL (AUTH_REDIRECT_URLS)",
            )
        })?),
        None => settings.redirect_target(None),
    };
    if let Some(challenge) = code_challenge
        && !crate::auth::pkce::is_challenge(challenge)
    {
        return Err(AppError::field(
            "codeChallenge",
            "must be 43 base64url characters (S256)",
        ));
    }
    let now = now();
    rate_limit::mail_request_allowed(app, &client.ip, now).await?;
    // The answer is given before the address is even looked up, so it
    // takes the same time whatever the address is (API.md §9.2): whether
    // a record is made, mail queued and an event written happens after.
    let (app, client) = (app.clone(), client.clone());
    let code_challenge = code_challenge.map(str::to_owned);
    tokio::spawn(async move {
        let challenge = code_challenge.as_deref();
        if let Err(e) = record_request(&app, &email, target, challenge, &client, now).await {
            tracing::warn!(error = %e, "an email sign-in request could not be recorded");
        }
    });
    Ok(())
}

/// The request's effect, after its answer: within the address's mail
/// budget (spent for every address alike), a new record and its mail for
/// an address that may sign in, and the account's event.
async fn record_request(
    app: &AppContext,
    email: &Email,
    target: Option<Url>,
    code_challenge: Option<&str>,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let txn = WriteTxn::begin(app).await?;
    let user = find_by_email(&*txn, email).await?;
    let mailed = match &user {
        Some(u) => u.deactivated_at.is_none(),
        None => app.settings.sign_in.email_sign_in_signup,
    };
    let within_budget = txn.spend_anonymous_budget(email.key()).await?;
    if mailed && within_budget {
        // An account is mailed at its own address, never the one typed.
        let address = user.as_ref().map_or(email.as_str(), |u| u.email.as_str());
        send(&txn, app, email, address, target, code_challenge, now).await?;
        if let Some(user) = &user {
            events::record(&*txn, user.id, Kind::EmailSignInRequested, client, None).await?;
        }
    }
    txn.commit().await
}

/// Replaces the address's record with a new one and queues its mail.
async fn send(
    txn: &WriteTxn,
    app: &AppContext,
    email: &Email,
    address: &str,
    target: Option<Url>,
    code_challenge: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let settings = &app.settings;
    Entity::delete_many()
        .filter(Column::EmailKey.eq(email.key()))
        .exec(&**txn)
        .await?;
    let id = Uuid::now_v7();
    let token = random_token();
    let code = six_digit_code();
    let ttl = chrono::Duration::from_std(settings.sign_in.email_sign_in_ttl)
        .unwrap_or(chrono::Duration::minutes(15));
    email_sign_in::ActiveModel {
        id: Set(id),
        email_key: Set(email.key().to_owned()),
        email: Set(address.to_owned()),
        token_hash: Set(sha256_hex(&token)),
        code_hash: Set(code_digest(settings.secret_bytes(), &id, &code)),
        attempts: Set(0),
        max_attempts: Set(settings.otp_max_attempts as i32),
        redirect_to: Set(target.as_ref().map(Url::to_string)),
        code_challenge: Set(code_challenge.map(str::to_owned)),
        expires_at: Set(now + ttl),
        consumed_at: Set(None),
        created_at: Set(now),
    }
    .insert(&**txn)
    .await?;
    let link = target.map(|_| format!("{}/email-sign-in/{token}", settings.public_url));
    let ttl_text = templates::duration_text(settings.sign_in.email_sign_in_ttl);
    let mail = templates::email_sign_in(link.as_deref(), &code, &ttl_text);
    txn.queue(address, mail).await
}

/// `signInWithEmailCode`: every failure is `INVALID_TOKEN` alike, but past
/// the account's (or address's) code budget or the sign-in limit, where
/// every code, the right one too, is `RATE_LIMITED`.
#[tracing::instrument(skip_all)]
pub async fn sign_in_with_code(
    app: &AppContext,
    email: &str,
    code: &str,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    enabled(app)?;
    let email = parse_email(email)?;
    let code = codes::parse(code)?;
    let limits = LoginLimits::new(&app.settings, email.key(), &client.ip);
    let attempt = match limits.begin(&app.db, app.settings.hash_queue_timeout).await {
        Ok(attempt) => attempt,
        Err(refused) => {
            // The first refusal of a window is the account's event, as
            // for passwords (not one per refused try).
            if first_refusal(&app.db, &app.settings, email.key()).await?
                && let Some(user) = find_by_email(app.db.alone(), &email).await?
            {
                let how = How::method(Method::Email);
                events::record_alone(&app.db, user.id, Kind::LoginRateLimited, client, how).await;
            }
            return Err(refused);
        }
    };
    let user = find_by_email(app.db.alone(), &email).await?;
    let budget = match &user {
        Some(u) => AccountCodes::new(&app.settings, u.id),
        None => AccountCodes::for_address(&app.settings, email.key()),
    };
    if let Err(refused) = budget.begin(app.db.alone()).await {
        attempt.failed().await?;
        return Err(refused);
    }
    let now = now();
    let judged = match newest(app.db.alone(), email.key(), now).await? {
        Some(row) if count_try(app.db.alone(), row.id, now).await? => Some(row),
        _ => None,
    };
    let right = judged.as_ref().is_some_and(|row| {
        let expected = code_digest(app.settings.secret_bytes(), &row.id, code);
        constant_time_eq(&row.code_hash, &expected)
    });
    let (proved, used) = match judged {
        Some(row) if right => (
            email_account::prove(app, &row, Use::Code, client).await?,
            Some(row.id),
        ),
        _ => (None, None),
    };
    let Some(Proved { user, .. }) = proved else {
        attempt.failed().await?;
        if let Some(user) = &user {
            let how = How::method(Method::Email);
            events::record_alone(&app.db, user.id, Kind::LoginFailed, client, how).await;
        }
        return Err(AppError::InvalidToken);
    };
    budget.clear(app.db.alone()).await?;
    attempt.succeeded().await?;
    let outcome = after_first_step(app, user, Method::Email, client).await;
    if let (Err(AppError::HookFailed(_)), Some(id)) = (&outcome, used) {
        // `HOOK_FAILED` uses nothing up (API.md §11.5): the same code works
        // when the call is tried again (the address stays proved).
        email_account::release(app.db.alone(), id).await?;
    }
    outcome
}

/// The address's newest live record.
async fn newest(
    conn: &impl ConnectionTrait,
    email_key: &str,
    now: DateTime<Utc>,
) -> Result<Option<email_sign_in::Model>, DbErr> {
    let mut query = Entity::find().filter(Column::EmailKey.eq(email_key));
    for condition in live(now) {
        query = query.filter(condition);
    }
    query.order_by_desc(Column::CreatedAt).one(conn).await
}

/// Counts one try on the record, only while it is live and has tries
/// left: true when this try may be judged.
async fn count_try(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.eq(id));
    for condition in live(now) {
        update = update.filter(condition);
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

/// The live record a link names, for its confirmation page.
#[tracing::instrument(skip_all)]
pub async fn find_link(app: &AppContext, token: &str) -> AppResult<email_sign_in::Model> {
    if token.is_empty() || token.len() > 128 {
        return Err(AppError::InvalidToken);
    }
    let now = now();
    let mut query = Entity::find().filter(Column::TokenHash.eq(sha256_hex(token)));
    for condition in live(now) {
        query = query.filter(condition);
    }
    query
        .one(app.db.alone())
        .await?
        .ok_or(AppError::InvalidToken)
}

/// The link's `POST`: uses the record up and answers the redirect target
/// with a new exchange code in its query.
#[tracing::instrument(skip_all)]
pub async fn use_link(app: &AppContext, token: &str, client: &ClientInfo) -> AppResult<Url> {
    enabled(app)?;
    let row = find_link(app, token).await?;
    let Some(target) = row.redirect_to.as_deref().and_then(|t| Url::parse(t).ok()) else {
        return Err(AppError::InvalidToken);
    };
    let Some(Proved { code, .. }) = email_account::prove(app, &row, Use::Link, client).await?
    else {
        return Err(AppError::InvalidToken);
    };
    Ok(with_code(target, &code.unwrap_or_default()))
}

/// The record's address, masked, for the link's confirmation page.
pub fn masked_address(row: &email_sign_in::Model) -> String {
    Email::parse(&row.email)
        .map(|e| e.mask())
        .unwrap_or_else(|_| "***".into())
}

/// The redirect target with `code` added, after any `code`, `error` or
/// `error_description` its own query held is dropped: an app reading the
/// first `code` must never get one an attacker put in `redirectTo`.
pub fn with_code(target: Url, code: &str) -> Url {
    crate::config::with_answer(target, &[("code", code)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_in_the_targets_own_query_is_dropped() {
        let target = Url::parse("https://app.example.com/cb?next=%2Fx&code=EVIL&error=x").unwrap();
        assert_eq!(
            with_code(target, "REAL").as_str(),
            "https://app.example.com/cb?next=%2Fx&code=REAL"
        );
    }
}
