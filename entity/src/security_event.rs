//! One change to an account's security (API.md §8.2), written in the
//! transaction of the change it records. Never a secret: no password,
//! token, code or key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "security_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account the event is about (kept after its deletion).
    pub user_id: Uuid,
    /// The event type as the API names it, e.g. `LOGIN_SUCCEEDED`.
    pub kind: String,
    pub created_at: DateTimeUtc,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The staff user who acted, when not the user themself.
    pub actor_id: Option<Uuid>,
    /// The session that acted, when there was one.
    pub session_id: Option<Uuid>,
    /// For sign-in events: how the user signed in (`amr`, space-separated).
    pub amr: Option<String>,
    /// The identity provider of a `fed` sign-in or an identity event.
    pub provider: Option<String>,
    /// The organization of an `ORG_*` event (kept after its deletion).
    pub organization_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
