//! Changing a password, and resetting a forgotten one by an emailed link.
//! Either way every session ends and the user is mailed a notice. A change
//! keeps API tokens (as DRF's do); a reset is a recovery, so it revokes
//! them too and clears the account's code and sign-in counters.

use entity::{session, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::auth::link_token::{self, LinkPurpose};
use crate::auth::tokens::random_token;
use crate::auth::viewer::Authenticated;
use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::domain::{Email, FieldErrors, Password};
use crate::error::{AppError, AppResult};
use crate::mail::templates;
use crate::services::AppContext;
use crate::services::credentials::lifecycle;
use crate::services::credentials::login_limits::identifier_key;
use crate::services::credentials::password_check::{self, Identifier};
use crate::services::credentials::sessions::{self, Tokens, revoke_sessions};
use crate::services::factors::codes::AccountCodes;
use crate::services::shared::accounts::{self};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_session;
use crate::services::shared::mail::{Budget, WriteTxn};
use crate::services::shared::rate_limit;
use crate::services::shared::security_events as events;

/// Parses a new password and its confirmation, for `user`.
fn parse_new(user: &user::Model, new_password: &str, confirm: &str) -> AppResult<Password> {
    let mut errors = FieldErrors::new();
    let password = errors.check(
        "newPassword",
        Password::parse(new_password, Some(&user.email), user.username.as_deref()),
    );
    if new_password != confirm {
        errors.add("confirmPassword", "does not match the new password");
    }
    errors.into_result()?;
    password.ok_or_else(|| AppError::internal(anyhow::anyhow!("validated password missing")))
}

/// Stores a new hash, but only over the hash the caller checked against, so
/// of two concurrent changes (or two uses of one reset link) one wins; then
/// rotates the security stamp and ends every session; the caller queues
/// the notice.
async fn replace_password(
    app: &AppContext,
    user: &user::Model,
    new_hash: String,
) -> AppResult<WriteTxn> {
    let now = now();
    let txn = WriteTxn::begin(app).await?;
    let updated = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(new_hash))
        .col_expr(user::Column::SecurityStamp, Expr::value(random_token()))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user.id))
        .filter(user::Column::PasswordHash.eq(user.password_hash.clone()))
        .exec(&*txn)
        .await?
        .rows_affected;
    if updated != 1 {
        txn.rollback().await;
        return Err(AppError::InvalidToken);
    }
    revoke_sessions(&*txn, session::Column::UserId.eq(user.id), now).await?;
    Ok(txn)
}

/// Changes the password of the caller's account. A session's request only
/// (an API token touches no credential), and the session it answers keeps
/// the caller's `authenticatedAt`, `aal` and `amr`: the old password proves
/// nothing the session had not proved already (API.md §8.8).
#[tracing::instrument(skip_all)]
pub async fn change(
    app: &AppContext,
    who: &Authenticated,
    old_password: &str,
    new_password: &str,
    confirm: &str,
    client: &ClientInfo,
) -> AppResult<Tokens> {
    let (_, proof) = require_session(who)?;
    let user = &who.user;
    let old = password_check::given_password(old_password, "oldPassword")?;
    let identifier = Identifier::Email(Email::parse(&user.email).map_err(AppError::internal)?);
    let current = password_check::check_password(app, &identifier, &old, client).await?;
    let new = parse_new(&current, new_password, confirm)?;
    if new.expose() == old.expose() {
        return Err(AppError::field(
            "newPassword",
            "must differ from the current password",
        ));
    }
    let hash = app.hasher.hash(&new).await?;
    // The new session's claims are asked for before the write transaction.
    let opening = sessions::prepare(app, &current, client, proof.clone()).await?;
    let txn = replace_password(app, &current, hash)
        .await
        .map_err(|e| match e {
            // Changed concurrently: the old password is no longer the current one.
            AppError::InvalidToken => AppError::InvalidCredentials,
            other => other,
        })?;
    txn.notify(&current, "your password was changed").await?;
    let fresh = accounts::current(&*txn, user.id).await?;
    let tokens = sessions::open_session(&txn, app, fresh, opening).await?;
    events::record(&*txn, user.id, Kind::PasswordChanged, client, None).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// Mails a reset link if the address belongs to an active account. The
/// answer is the same either way; only the per-IP limit shows.
#[tracing::instrument(skip_all)]
pub async fn request_reset(app: &AppContext, email: &str, client: &ClientInfo) -> AppResult<()> {
    let settings = &app.settings;
    let email = Email::parse(email).map_err(|e| AppError::field("email", &e.0))?;
    let now = now();
    rate_limit::mail_request_allowed(app, &client.ip, now).await?;
    let found = user::Entity::find().filter(user::Column::EmailKey.eq(email.key()));
    let found = app.db.read().one(found).await?;
    let Some(user) = found.filter(|u| u.is_active) else {
        // The write a known address gets (one transaction counting the
        // address's mail budget), so the time of the answer tells nothing.
        let txn = WriteTxn::begin(app).await?;
        txn.spend_anonymous_budget(email.key()).await?;
        txn.commit().await?;
        return Ok(());
    };
    let uid = link_token::uid_for(user.id);
    let token = link_token::make(
        settings.secret_bytes(),
        LinkPurpose::PasswordReset,
        &user,
        now,
    );
    let url = match &settings.password_reset_url {
        Some(front) => {
            let sep = if front.contains('?') { '&' } else { '?' };
            format!("{front}{sep}uid={uid}&token={token}")
        }
        None => format!("{}/reset-password/{uid}/{token}", settings.public_url),
    };
    let mail =
        templates::password_reset(&url, &templates::duration_text(settings.password_reset_ttl));
    let txn = WriteTxn::begin(app).await?;
    txn.mail(&user, mail, Budget::Anonymous).await?;
    events::record(&*txn, user.id, Kind::PasswordResetRequested, client, None).await?;
    txn.commit().await?;
    Ok(())
}

/// The account a reset link names, if the link is genuine, fresh and unused.
#[tracing::instrument(skip_all)]
pub async fn check_reset_link(app: &AppContext, uid: &str, token: &str) -> AppResult<user::Model> {
    let user_id = link_token::user_id_from_uid(uid).ok_or(AppError::InvalidToken)?;
    let user = accounts::find(app, user_id)
        .await?
        .ok_or(AppError::InvalidToken)?;
    let genuine = link_token::check(
        app.settings.secret_bytes(),
        LinkPurpose::PasswordReset,
        &user,
        token,
        app.settings.password_reset_ttl,
        now(),
    );
    if genuine && user.is_active {
        Ok(user)
    } else {
        Err(AppError::InvalidToken)
    }
}

/// The reset's notice, naming the passkeys it removed.
fn reset_notice(passkeys: &[String]) -> String {
    if passkeys.is_empty() {
        return "your password was reset".to_owned();
    }
    let names: Vec<String> = passkeys.iter().map(|n| format!("“{n}”")).collect();
    format!(
        "your password was reset, and with it every session, API token and passkey was ended (passkeys removed: {}); add your passkeys again after signing in",
        names.join(", ")
    )
}

#[tracing::instrument(skip_all)]
pub async fn reset(
    app: &AppContext,
    uid: &str,
    token: &str,
    new_password: &str,
    confirm: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    let user = check_reset_link(app, uid, token).await?;
    let new = parse_new(&user, new_password, confirm)?;
    let hash = app.hasher.hash(&new).await?;
    let txn = replace_password(app, &user, hash).await?;
    // Recovery: whatever the account's holder added without the second
    // factor goes with the old password (the notice names the passkeys),
    // and the owner starts with clean counters.
    let passkeys = lifecycle::end_at_recovery(&txn, user.id, client, now()).await?;
    txn.notify(&user, &reset_notice(&passkeys)).await?;
    AccountCodes::new(&app.settings, user.id)
        .clear(&*txn)
        .await?;
    for identifier in [Some(user.email_key.as_str()), user.username_key.as_deref()]
        .into_iter()
        .flatten()
    {
        rate_limit::clear(&*txn, &identifier_key(identifier)).await?;
    }
    accounts::mark_verified(&*txn, user.id).await?;
    events::record(&*txn, user.id, Kind::PasswordReset, client, None).await?;
    txn.commit().await?;
    Ok(())
}
