//! Changing an account's second factors as a whole: the emailed code on
//! and off (which takes the app and the recovery codes with it), and a
//! superuser's reset of a user who lost their phone (API.md §8.4, §8.8).

use entity::{session, totp_factor, user};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait};
use uuid::Uuid;

use crate::auth::viewer::Authenticated;
use crate::config::TwoFactorPolicy;
use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::lifecycle::{self, Kind as Factor};
use crate::services::credentials::password_check;
use crate::services::credentials::sessions;
use crate::services::factors::recovery_codes;
use crate::services::shared::accounts;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::{is_recent, require_fresh, require_session};
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::security_events as events;
use crate::services::shared::two_factor::any_on;

/// Turns the emailed code on or off after checking the password (wrong
/// ones count against the sign-in limits), and mails the user a notice.
/// Off also turns the authenticator app off and voids the recovery codes.
///
/// A session's request only. Turning off, or turning on beside a factor
/// already on, needs a fresh session at `aal2` (API.md §8.8); turning on
/// the account's first factor in a fresh session makes that session
/// `aal2`, as it proves the most the account can.
#[tracing::instrument(skip_all)]
pub async fn set_email_code(
    app: &AppContext,
    who: &Authenticated,
    password: &str,
    enabled: bool,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    require_session(who)?;
    let first_factor = enabled && !any_on(app, &who.user);
    if !first_factor {
        require_fresh(app, who)?;
    }
    password_check::prove_password(app, who, password, client).await?;
    let txn = WriteTxn::begin(app).await?;
    let current = accounts::current(&*txn, who.user.id).await?;
    let had_app = current.totp_enabled;
    // Under `TWO_FACTOR=off` nothing is ever asked: turning the mailed code
    // on proves no second factor, so it raises nothing.
    let raises = first_factor
        && app.settings.two_factor != TwoFactorPolicy::Off
        && !any_on(app, &current)
        && is_recent(app, who);
    let mut active: user::ActiveModel = current.into();
    active.two_factor_enabled = Set(enabled);
    if !enabled {
        active.totp_enabled = Set(false);
    }
    active.updated_at = Set(now());
    let updated = active.update(&*txn).await?;
    let change = |kind| lifecycle::Change::by_owner(kind, None, client);
    if enabled {
        lifecycle::added(&txn, &updated, change(Factor::EmailTwoFactor)).await?;
        if raises {
            sessions::raise_with_first_factor(&*txn, who).await?;
        }
    } else {
        totp_factor::Entity::delete_by_id(updated.id)
            .exec(&*txn)
            .await?;
        recovery_codes::void(&*txn, updated.id).await?;
        lifecycle::removed(&txn, &updated, change(Factor::EmailTwoFactor)).await?;
        if had_app {
            // The app goes with it: its own notice and event.
            lifecycle::removed(&txn, &updated, change(Factor::Totp)).await?;
        }
    }
    txn.commit().await?;
    Ok(updated)
}

/// A lost phone (API.md §8.8): a superuser in a fresh session turns off
/// every second factor of another user — the emailed code, the app and the
/// recovery codes; passkeys stay — ends the user's sessions, mails them and
/// records `SECOND_FACTORS_RESET` with the superuser as actor.
#[tracing::instrument(skip_all)]
pub async fn reset_second_factors(
    app: &AppContext,
    who: &Authenticated,
    user_id: Uuid,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    if !who.user.is_superuser {
        return Err(AppError::Forbidden);
    }
    require_fresh(app, who)?;
    let now = now();
    let txn = WriteTxn::begin(app).await?;
    let Some(target) = user::Entity::find_by_id(user_id).one(&*txn).await? else {
        txn.rollback().await;
        return Err(AppError::NotFound);
    };
    let mut active: user::ActiveModel = target.into();
    active.two_factor_enabled = Set(false);
    active.totp_enabled = Set(false);
    active.updated_at = Set(now);
    let updated = active.update(&*txn).await?;
    totp_factor::Entity::delete_by_id(user_id)
        .exec(&*txn)
        .await?;
    recovery_codes::void(&*txn, user_id).await?;
    sessions::revoke_sessions(&*txn, session::Column::UserId.eq(user_id), now).await?;
    events::record(
        &*txn,
        user_id,
        Kind::SecondFactorsReset,
        client,
        Some(who.user.id),
    )
    .await?;
    txn.notify(
        &updated,
        "an administrator turned off every second factor of your account (sign-in codes, authenticator app, recovery codes) and signed you out everywhere",
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}
