//! A user's newest request to change their address (API.md §8.5).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The address asked for, as typed (trimmed, NFKC).
    pub new_email: String,
    /// When it was asked for; the link is bound to it, so a newer request
    /// voids older links.
    pub requested_at: DateTimeUtc,
    /// The session that asked: it alone survives the change.
    pub session_id: Option<Uuid>,
    /// SHA-256 of the link that made the change, once it did.
    pub used_token_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
