//! A browser flow of social sign-in between `start` and its callback
//! (API.md §9.1). The state is stored only as its SHA-256; the row is used
//! up by the first callback that names it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "social_flows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider: String,
    #[sea_orm(unique)]
    pub state_hash: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// Our PKCE verifier for the provider's token endpoint.
    pub verifier: String,
    #[sea_orm(column_type = "Text")]
    pub redirect_to: String,
    /// The app's PKCE challenge, passed on to its exchange code.
    pub code_challenge: Option<String>,
    pub client_ip: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub consumed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
