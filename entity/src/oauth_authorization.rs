//! An authorization request of the provider (API.md §9.3), from the
//! authorization endpoint to its decision and the code that decision
//! yields. Keyed by the SHA-256 of its unguessable id (the id is in a
//! browser's address bar only); the code is stored only as its SHA-256.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_authorizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id_hash: String,
    pub client_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub redirect_uri: String,
    /// Requested, space-separated.
    pub scopes: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub state: Option<String>,
    pub code_challenge: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub nonce: Option<String>,
    /// `""`, `none`, `login` or `consent`.
    pub prompt: String,
    pub max_age: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub login_hint: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub resource: Option<String>,
    pub client_ip: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// Set once, by the one decision that wins.
    pub decided_at: Option<DateTimeUtc>,
    /// Who approved, from which session, and how that session signed in.
    pub user_id: Option<Uuid>,
    pub decider_session_id: Option<Uuid>,
    pub granted_scopes: Option<String>,
    pub auth_time: Option<DateTimeUtc>,
    pub amr: Option<String>,
    pub code_hash: Option<String>,
    /// Set by the first token request that names the code, whatever it
    /// answers.
    pub code_used_at: Option<DateTimeUtc>,
    /// The OAuth session the code started: ended if the code comes back.
    pub oauth_session_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::oauth_client::Entity",
        from = "Column::ClientId",
        to = "super::oauth_client::Column::Id",
        on_delete = "Cascade"
    )]
    Client,
}

impl Related<super::oauth_client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
