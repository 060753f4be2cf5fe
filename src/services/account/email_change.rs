//! Changing one's address (API.md §8.5). The request mails the new address
//! a link (a Django-style HMAC bound to the pending address and the time of
//! the request, so a newer request, a password change or its use ends it)
//! and mails the old address a notice. An address that already has an
//! account gets its owner a notice instead, and the requester's answer and
//! inbox are the same either way. Confirming changes the address, rotates
//! the security stamp (links mailed to the old address die) and ends every
//! other session.

use chrono::{DateTime, Utc};
use entity::email_change::{self, Column, Entity};
use entity::{session, user};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, SqlErr};

use crate::auth::link_token::{self, LinkPurpose, uid_for, user_id_from_uid};
use crate::auth::tokens::{constant_time_eq, random_token, sha256_hex};
use crate::auth::viewer::{Authenticated, Credential};
use crate::db::{now, sql_err};
use crate::domain::Email;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::mail::templates;
use crate::services::AppContext;
use crate::services::credentials::sessions::revoke_sessions;
use crate::services::shared::accounts::{self, find_by_email, search_fold};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_fresh;
use crate::services::shared::mail::{Budget, WriteTxn};
use crate::services::shared::security_events as events;

/// What a link is bound to besides the user: the address and its request.
fn bound(new_email: &str, requested_at: DateTime<Utc>) -> Vec<u8> {
    format!(
        "{}|{}",
        new_email.to_lowercase(),
        requested_at.timestamp_micros()
    )
    .into_bytes()
}

/// Asks to move the signed-in user to `new_email` (fresh session). True
/// for every well-formed address, taken or not.
#[tracing::instrument(skip_all)]
pub async fn request(
    app: &AppContext,
    who: &Authenticated,
    new_email: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    require_fresh(app, who)?;
    let new_email =
        Email::parse(new_email).map_err(|e| AppError::field("newEmail", &e.to_string()))?;
    let now = now();
    let txn = WriteTxn::begin(app).await?;
    let user = accounts::current(&*txn, who.user.id).await?;
    if new_email.key() == user.email_key {
        txn.rollback().await;
        return Ok(());
    }
    match find_by_email(&*txn, &new_email).await? {
        Some(owner) => {
            txn.mail(&owner, templates::email_in_use(), Budget::Anonymous)
                .await?;
        }
        None => {
            let session_id = match who.credential {
                Credential::Session(id) => Some(id),
                Credential::ApiToken(_) => None,
            };
            let row = email_change::ActiveModel {
                user_id: Set(user.id),
                new_email: Set(new_email.as_str().to_owned()),
                requested_at: Set(now),
                session_id: Set(session_id),
                used_token_hash: Set(None),
            };
            Entity::insert(row)
                .on_conflict(
                    OnConflict::column(Column::UserId)
                        .update_columns([
                            Column::NewEmail,
                            Column::RequestedAt,
                            Column::SessionId,
                            Column::UsedTokenHash,
                        ])
                        .to_owned(),
                )
                .exec(&*txn)
                .await?;
            let token = link_token::make_bound(
                app.settings.secret_bytes(),
                LinkPurpose::EmailChange,
                &user,
                &bound(new_email.as_str(), now),
                now,
            );
            let url = format!(
                "{}/confirm-email/{}/{token}",
                app.settings.public_url,
                uid_for(user.id)
            );
            let ttl = templates::duration_text(app.settings.activation_token_ttl);
            // To the new address, from its own budget: no one can flood a
            // stranger's inbox by asking again and again.
            let mut to_new = user.clone();
            to_new.email = new_email.as_str().to_owned();
            to_new.email_key = new_email.key().to_owned();
            txn.mail(
                &to_new,
                templates::email_change_link(&url, &ttl),
                Budget::Anonymous,
            )
            .await?;
        }
    }
    let notice = format!(
        "a change of this account's address to {} was requested; if this wasn't you, sign in and sign out everywhere (or reset your password) to stop it",
        new_email.as_str()
    );
    txn.notify(&user, &notice).await?;
    events::record(&*txn, user.id, Kind::EmailChangeRequested, client, None).await?;
    txn.commit().await?;
    Ok(())
}

/// What a confirmation link did.
pub enum Confirmed {
    Changed(user::Model),
    /// The link already made its change (mail scanners open links first).
    AlreadyChanged(user::Model),
}

/// Confirms an address change by its link, once. A wrong, expired,
/// superseded or voided link is `INVALID_TOKEN`; so is an address that
/// someone took in the meantime.
#[tracing::instrument(skip_all)]
pub async fn confirm(
    app: &AppContext,
    uid: &str,
    token: &str,
    client: &ClientInfo,
) -> AppResult<Confirmed> {
    let user_id = user_id_from_uid(uid).ok_or(AppError::InvalidToken)?;
    let now = now();
    let txn = WriteTxn::begin(app).await?;
    let (Some(user), Some(pending)) = (
        user::Entity::find_by_id(user_id).one(&*txn).await?,
        Entity::find_by_id(user_id).one(&*txn).await?,
    ) else {
        txn.rollback().await;
        return Err(AppError::InvalidToken);
    };
    let digest = sha256_hex(token);
    if let Some(used) = &pending.used_token_hash {
        txn.rollback().await;
        return if constant_time_eq(used, &digest) {
            Ok(Confirmed::AlreadyChanged(user))
        } else {
            Err(AppError::InvalidToken)
        };
    }
    let valid = user.is_active
        && link_token::check_bound(
            app.settings.secret_bytes(),
            LinkPurpose::EmailChange,
            &user,
            &bound(&pending.new_email, pending.requested_at),
            token,
            app.settings.activation_token_ttl,
            now,
        );
    // A pending change dies with the session that asked for it (API.md
    // §8.8): signing out, or out everywhere, stops a session thief's change.
    let requester_live = match pending.session_id {
        Some(id) => session::Entity::find_by_id(id)
            .filter(session::Column::RevokedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(now))
            .one(&*txn)
            .await?
            .is_some(),
        None => false,
    };
    let new_email = Email::parse(&pending.new_email).ok();
    let (true, true, Some(new_email)) = (valid, requester_live, new_email) else {
        txn.rollback().await;
        return Err(AppError::InvalidToken);
    };
    // Used once: the row changes only while it is still unused.
    let claimed = Entity::update_many()
        .col_expr(Column::UsedTokenHash, Expr::value(digest))
        .filter(Column::UserId.eq(user.id))
        .filter(Column::RequestedAt.eq(pending.requested_at))
        .filter(Column::UsedTokenHash.is_null())
        .exec(&*txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await;
        return Err(AppError::InvalidToken);
    }
    let old = user.clone();
    let mut active: user::ActiveModel = user.into();
    active.email = Set(new_email.as_str().to_owned());
    active.email_verified = Set(true);
    active.email_key = Set(new_email.key().to_owned());
    active.search_fold = Set(search_fold(
        new_email.as_str(),
        old.username.as_deref(),
        old.first_name.as_deref(),
        old.last_name.as_deref(),
    ));
    active.security_stamp = Set(random_token());
    active.updated_at = Set(now);
    let updated = match active.update(&*txn).await {
        Ok(updated) => updated,
        Err(e) => {
            txn.rollback().await;
            return Err(match sql_err(&e) {
                // Someone registered the address after the request.
                Some(SqlErr::UniqueConstraintViolation(_)) => AppError::InvalidToken,
                _ => e.into(),
            });
        }
    };
    let mut others = session::Column::UserId.eq(updated.id);
    if let Some(keep) = pending.session_id {
        others = others.and(session::Column::Id.ne(keep));
    }
    revoke_sessions(&*txn, others, now).await?;
    let notice = format!("this account's address was changed to {}", updated.email);
    txn.notify(&old, &notice).await?;
    events::record(&*txn, updated.id, Kind::EmailChanged, client, None).await?;
    txn.commit().await?;
    Ok(Confirmed::Changed(updated))
}
