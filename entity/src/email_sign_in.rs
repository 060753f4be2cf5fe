//! A passwordless sign-in by email (API.md §9.2): one live record per
//! address, with a link and a 6-digit code; using either uses both. Only
//! digests are stored. No account is needed: an unknown address (when
//! sign-up by email is on) gets its account when the record is used.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_sign_ins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The address's unique key (as `users.email_key`).
    pub email_key: String,
    /// The address as typed, for an account made from this record.
    pub email: String,
    /// SHA-256 of the link's token.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// HMAC of the code, keyed by the server secret and bound to this row.
    pub code_hash: String,
    /// Wrong codes so far, counted before each is judged.
    pub attempts: i32,
    pub max_attempts: i32,
    /// Where the link's `POST` sends the browser (with an exchange code).
    pub redirect_to: Option<String>,
    /// The app's PKCE challenge: the exchange code then needs its verifier.
    pub code_challenge: Option<String>,
    pub expires_at: DateTimeUtc,
    pub consumed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
