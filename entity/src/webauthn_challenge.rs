//! A WebAuthn ceremony in progress (API.md §8.4): five minutes, once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webauthn_challenges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user registering, or the one a sign-in named by address.
    pub user_id: Option<Uuid>,
    /// `register` or `login`.
    pub purpose: String,
    /// webauthn-rs's ceremony state as JSON (it holds the challenge).
    pub state: String,
    pub expires_at: DateTimeUtc,
    /// Digest of the client IP that began a sign-in ceremony (per-IP
    /// counts, API.md §8.9); none for a registration.
    pub client_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
