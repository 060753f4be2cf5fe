//! A user for the unit tests of tokens: a new, pending account.

use chrono::Utc;
use entity::user;
use uuid::Uuid;

/// A fresh pending account with a placeholder hash and stamp.
pub fn user() -> user::Model {
    let now = Utc::now();
    user::Model {
        id: Uuid::new_v4(),
        email: "a@example.com".into(),
        email_key: "a@example.com".into(),
        username: None,
        username_key: None,
        password_hash: "$argon2id$x".into(),
        first_name: None,
        last_name: None,
        phone: None,
        gender: "UNSPECIFIED".into(),
        is_active: false,
        is_staff: false,
        is_superuser: false,
        two_factor_enabled: false,
        security_stamp: "stamp".into(),
        search_fold: String::new(),
        date_joined: now,
        activated_at: None,
        last_login: None,
        updated_at: now,
        deactivated_at: None,
        totp_enabled: false,
        email_verified: false,
    }
}
