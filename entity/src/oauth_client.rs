//! A relying party of authql's OAuth 2.1 / OpenID Connect provider
//! (API.md §9.3). A confidential client's secret is stored only as its
//! SHA-256 (it is 256 random bits: a fast hash suffices); a public one has
//! none and relies on PKCE.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_clients")]
pub struct Model {
    /// The `client_id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// `CONFIDENTIAL` or `PUBLIC`; never changes.
    pub client_type: String,
    pub secret_hash: Option<String>,
    pub secret_created_at: Option<DateTimeUtc>,
    /// A JSON array of exact URIs.
    #[sea_orm(column_type = "Text")]
    pub redirect_uris: String,
    /// A JSON array of exact URIs.
    #[sea_orm(column_type = "Text")]
    pub post_logout_redirect_uris: String,
    /// Space-separated subset of `openid email profile offline_access`.
    pub allowed_scopes: String,
    pub skip_consent: bool,
    /// Registered through `POST /oauth/register`.
    pub dynamic: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
