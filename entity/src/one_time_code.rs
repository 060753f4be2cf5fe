//! A 6-digit code mailed to a user: account activation, or the second step
//! of a two-factor login (then bound to a challenge). Only digests are stored.

use sea_orm::entity::prelude::*;

pub const PURPOSE_ACTIVATION: &str = "activation";
pub const PURPOSE_LOGIN: &str = "login";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "one_time_code")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: String,
    /// SHA-256 of the challenge id handed to the client (two-factor logins only).
    #[sea_orm(unique)]
    pub challenge_hash: Option<String>,
    /// HMAC of the code, keyed by the server secret and bound to this row.
    pub code_hash: String,
    /// Wrong tries so far; raised atomically in the database.
    pub attempts: i32,
    pub max_attempts: i32,
    pub resends: i32,
    pub last_sent_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub consumed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// For a `reauthenticate` challenge: the session its code makes fresh.
    pub session_id: Option<Uuid>,
    /// Where a sign-in challenge's code comes from: `EMAIL` (then
    /// `code_hash` is its HMAC) or `TOTP` (the user's authenticator app;
    /// `code_hash` is empty and never matches).
    pub method: String,
    /// The `amr` of the first step a sign-in challenge follows (`pwd`,
    /// `email`, `fed`): the session it opens proved that and the code.
    pub first_step: String,
    /// The provider of a `fed` first step (API.md §9.1).
    pub provider: Option<String>,
    /// A `fed` sign-in whose identity is linked when this challenge is
    /// passed: the used social code that holds it (API.md §9.1 rule 3).
    pub link_code_id: Option<Uuid>,
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
