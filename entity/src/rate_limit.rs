//! Fixed-window counters shared by every instance on the database: failed
//! logins per identifier and per IP, mails per address.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rate_limit")]
pub struct Model {
    /// SHA-256 of the scope and subject, e.g. `mail:` + address: fixed
    /// length, and no raw identifiers at rest.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub window_start: DateTimeUtc,
    pub count: i32,
    /// Of `count`, the attempts counted but not yet judged (API.md §8.1:
    /// an attempt that only pending ones push over the limit waits).
    pub pending: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
