//! One event for one endpoint (API.md §11.2): written in the transaction of
//! the change it reports, sent by the webhook worker at least once.

use sea_orm::entity::prelude::*;

pub const PENDING: &str = "PENDING";
pub const SUCCEEDED: &str = "SUCCEEDED";
pub const DEAD: &str = "DEAD";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The `webhook-id` header: the same on every attempt and redelivery.
    pub webhook_id: String,
    pub event_type: String,
    /// The body as sent: `{"type", "timestamp", "data"}`.
    pub payload: String,
    /// `PENDING`, `SUCCEEDED` or `DEAD`.
    pub status: String,
    pub attempts: i32,
    /// Attempts before the delivery is `DEAD`; unset: `WEBHOOK_MAX_ATTEMPTS`
    /// (a redelivery sets it that many past the attempts made).
    pub attempt_limit: Option<i32>,
    pub created_at: DateTimeUtc,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub response_status: Option<i32>,
    /// While an instance attempts it: others leave it until then.
    pub lease_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
