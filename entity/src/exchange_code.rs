//! The one-time code a browser flow hands to the app's redirect target
//! instead of a token (API.md §9.1, §9.2): `exchangeSocialCode` turns it
//! into what `login` answers, once. Only its digest is stored.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exchange_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// SHA-256 of the code.
    #[sea_orm(unique)]
    pub code_hash: String,
    /// The account the flow signed in to.
    pub user_id: Uuid,
    /// The first step the flow proved (`email`, `fed`).
    pub amr: String,
    /// The app's PKCE challenge (S256): the exchange needs its verifier.
    pub code_challenge: Option<String>,
    pub expires_at: DateTimeUtc,
    pub consumed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl ActiveModelBehavior for ActiveModel {}
