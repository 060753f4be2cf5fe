//! Which second factors a user has on (API.md §8.4). `TWO_FACTOR=off` turns every second factor off
//! at sign-in; `required` asks everyone for one (the app's code when they
//! have an app, else a mailed code).

use entity::user;

use crate::config::TwoFactorPolicy;
use crate::domain::SecondFactorMethod;
use crate::services::AppContext;

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
