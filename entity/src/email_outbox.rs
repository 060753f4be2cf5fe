//! A mail waiting to be delivered, written in the same transaction as the
//! change that caused it; the outbox worker delivers it with retries.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub to_address: String,
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub text_body: String,
    #[sea_orm(column_type = "Text")]
    pub html_body: String,
    /// Delivery attempts so far (counted when a row is claimed).
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// While in the future, one worker owns the row; an expired lease means
    /// its worker died and the row may be claimed again.
    pub lease_until: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    /// Sign-in codes: sent before any other waiting mail.
    pub urgent: bool,
    /// Set when delivery was given up after `MAIL_MAX_ATTEMPTS` (the bodies
    /// are removed then, as on delivery).
    pub dead_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
