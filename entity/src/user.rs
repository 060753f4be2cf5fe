//! An account. `email_key` / `username_key` hold the case-folded forms that the
//! unique indexes enforce, so uniqueness is case-insensitive on every backend.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The address as the user typed it (trimmed, NFKC); shown back to them.
    pub email: String,
    /// Lower-cased `email`: the unique, case-insensitive key.
    #[sea_orm(unique)]
    pub email_key: String,
    pub username: Option<String>,
    #[sea_orm(unique)]
    pub username_key: Option<String>,
    pub password_hash: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    /// One of `FEMALE`, `MALE`, `OTHER`, `UNSPECIFIED`.
    pub gender: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub two_factor_enabled: bool,
    /// Random value rotated whenever outstanding link tokens must die
    /// (password change, activation, deactivation): link-token HMACs cover it.
    pub security_stamp: String,
    /// Case-folded email, username and names, for the admin's user search.
    pub search_fold: String,
    pub date_joined: DateTimeUtc,
    /// When the account was first activated. Activation links and codes only
    /// ever apply while this is unset, so an account that staff deactivated
    /// cannot reactivate itself through a new activation mail.
    pub activated_at: Option<DateTimeUtc>,
    pub last_login: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
    /// Set while staff have the account deactivated: such an account cannot
    /// reactivate itself by an activation link, code or resend.
    pub deactivated_at: Option<DateTimeUtc>,
    /// An authenticator app is confirmed (its secret is in `totp_factors`);
    /// kept here so a login knows which second factor to ask for.
    pub totp_enabled: bool,
    /// Someone proved the address (API.md §9.1): an activation link or
    /// code, an email sign-in, a confirmed email change or a completed
    /// password reset. Only a verified address may be joined by a provider
    /// identity, so whoever registered it first cannot wait inside.
    pub email_verified: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
