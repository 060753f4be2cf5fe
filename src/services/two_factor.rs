//! Which second factors a user has on (API.md §8.4), and turning the
//! emailed code on and off. `TWO_FACTOR=off` turns every second factor off
//! at sign-in; `required` asks everyone for one (the app's code when they
//! have an app, else a mailed code).

use entity::{totp_factor, user};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

use crate::config::TwoFactorPolicy;
use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::domain::{Email, Password, SecondFactorMethod};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::accounts;
use crate::services::login::{self, Identifier};
use crate::services::mail::WriteTxn;
use crate::services::recovery_codes;
use crate::services::security_events as events;
use crate::services::sessions::ClientInfo;

/// Whether the emailed code is on for the user.
pub fn email_on(app: &AppContext, user: &user::Model) -> bool {
    match app.settings.two_factor {
        TwoFactorPolicy::Off => false,
        TwoFactorPolicy::Required => true,
        TwoFactorPolicy::Optional => user.two_factor_enabled,
    }
}

/// Whether signing in (or re-authenticating) takes a second factor.
pub fn any_on(app: &AppContext, user: &user::Model) -> bool {
    email_on(app, user) || (app.settings.two_factor != TwoFactorPolicy::Off && user.totp_enabled)
}

/// What a new challenge asks for: the app when there is one (no mail).
pub fn challenge_method(user: &user::Model) -> SecondFactorMethod {
    if user.totp_enabled {
        SecondFactorMethod::Totp
    } else {
        SecondFactorMethod::Email
    }
}

/// The second factors the user turned on, as `User.twoFactorMethods`.
pub fn methods(user: &user::Model) -> Vec<SecondFactorMethod> {
    let mut methods = Vec::new();
    if user.two_factor_enabled {
        methods.push(SecondFactorMethod::Email);
    }
    if user.totp_enabled {
        methods.push(SecondFactorMethod::Totp);
    }
    methods
}

/// Turns the emailed code on or off after checking the password (wrong
/// ones count against the sign-in limits), and mails the user a notice.
/// Off also turns the authenticator app off and voids the recovery codes.
pub async fn set_email_code(
    app: &AppContext,
    user: &user::Model,
    password: &str,
    enabled: bool,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    let password = Password::parse_for_login(password).map_err(|_| AppError::InvalidCredentials)?;
    let identifier =
        Identifier::Email(Email::parse(&user.email).map_err(|_| AppError::InvalidCredentials)?);
    login::check_password(app, &identifier, &password, client).await?;
    let txn = WriteTxn::begin(app).await?;
    let current = accounts::current(&*txn, user.id).await?;
    let had_app = current.totp_enabled;
    let mut active: user::ActiveModel = current.into();
    active.two_factor_enabled = Set(enabled);
    if !enabled {
        active.totp_enabled = Set(false);
    }
    active.updated_at = Set(now());
    let updated = active.update(&*txn).await?;
    if enabled {
        events::record(&*txn, updated.id, Kind::TwoFactorEnabled, client, None).await?;
    } else {
        totp_factor::Entity::delete_by_id(updated.id)
            .exec(&*txn)
            .await?;
        recovery_codes::void(&*txn, updated.id).await?;
        events::record(&*txn, updated.id, Kind::TwoFactorDisabled, client, None).await?;
        if had_app {
            events::record(&*txn, updated.id, Kind::TotpDisabled, client, None).await?;
        }
    }
    let what = if enabled {
        "two-factor sign-in was turned on"
    } else {
        "two-factor sign-in was turned off"
    };
    txn.notify(&updated, what).await?;
    txn.commit().await?;
    Ok(updated)
}
