//! A receiver staff registered for webhooks (API.md §11.1). Its signing
//! secret is sealed (`auth::sealed`, bound to the row), never returned
//! after creation or rotation; during a rotation's overlap the previous
//! secret signs too.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// The subscribed names and patterns, one per line, as written.
    pub events: String,
    pub enabled: bool,
    /// The sealed `whsec_…` secret.
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
