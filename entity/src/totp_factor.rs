//! A user's authenticator app (API.md §8.4). Secrets are sealed with a key
//! derived from `SECRET_KEY` and bound to the user: a database dump alone
//! yields no secret.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "totp_factors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The confirmed app's sealed secret; `None` while only enrolling.
    pub secret: Option<String>,
    /// The last time step whose code was accepted: each is accepted once.
    pub last_step: Option<i64>,
    pub enabled_at: Option<DateTimeUtc>,
    /// The sealed secret of an enrolment begun but not yet confirmed.
    pub pending_secret: Option<String>,
    pub pending_created_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
