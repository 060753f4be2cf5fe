//! One sign-in: the family of refresh tokens that rotate from one login.
//! Access tokens name their session, and each request checks it is live,
//! so revoking a session ends its access at once on every instance.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTimeUtc,
    /// Written at most once a minute, not per request.
    pub last_used_at: Option<DateTimeUtc>,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// When the user last proved who they are in this session (password,
    /// sign-in code, `reauthenticate`): what "fresh" is measured from.
    pub authenticated_at: DateTimeUtc,
    /// The assurance level the sign-in steps proved: `aal1` or `aal2`.
    pub aal: String,
    /// The methods they proved it with, space-separated (`pwd otp`); `mfa`
    /// is derived, never stored.
    pub amr: String,
    /// The active organization (API.md §10.4) and the role its members'
    /// tokens claim in it: changed with the membership, so a token whose
    /// `org_id`/`org_role` differ from these no longer authenticates.
    pub active_org_id: Option<Uuid>,
    pub active_org_role: Option<String>,
    /// The provider of a `fed` sign-in (API.md §9.1): `Session.provider`.
    pub provider: Option<String>,
    /// An OAuth session (API.md §9.3): the client its tokens were issued
    /// to, the scopes granted and the resource named. Never accepted by
    /// `/graphql` or `refreshToken`.
    pub oauth_client_id: Option<Uuid>,
    pub oauth_scopes: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub oauth_resource: Option<String>,
    /// A browser session of the provider's pages: its cookie's SHA-256.
    /// Only those pages and the authorization endpoint accept it.
    pub browser_hash: Option<String>,
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

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
