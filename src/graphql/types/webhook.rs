//! Webhook endpoints and deliveries as staff see them (API.md §11.1).

use async_graphql::{Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{webhook_delivery, webhook_endpoint};

use crate::graphql::pagination::ListItem;
use crate::services::webhooks::deliveries::DeliveryFilter;
use crate::services::webhooks::endpoints::EndpointInput;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum WebhookDeliveryStatus {
    Pending,
    Succeeded,
    Dead,
}

impl WebhookDeliveryStatus {
    fn stored(self) -> &'static str {
        match self {
            WebhookDeliveryStatus::Pending => webhook_delivery::PENDING,
            WebhookDeliveryStatus::Succeeded => webhook_delivery::SUCCEEDED,
            WebhookDeliveryStatus::Dead => webhook_delivery::DEAD,
        }
    }
}

pub struct WebhookEndpoint(pub webhook_endpoint::Model);

#[Object]
impl WebhookEndpoint {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn events(&self) -> Vec<&str> {
        self.0.events.lines().collect()
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The end of a rotation's overlap while one runs, else null.
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0
            .previous_secret_expires_at
            .filter(|until| *until > crate::db::now())
    }
}

/// An endpoint and its secret, shown only in this answer.
#[derive(SimpleObject)]
pub struct WebhookEndpointSecret {
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

#[derive(Clone)]
pub struct WebhookDelivery(pub webhook_delivery::Model);

impl ListItem for WebhookDelivery {
    const EDGE: &'static str = "WebhookDeliveryEdge";
    const CONNECTION: &'static str = "WebhookDeliveryConnection";
    const PAGE: &'static str = "WebhookDeliveryPage";
}

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn endpoint_id(&self) -> ID {
        ID(self.0.endpoint_id.to_string())
    }
    /// The `webhook-id` header, the same on every attempt.
    async fn webhook_id(&self) -> &str {
        &self.0.webhook_id
    }
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    async fn status(&self) -> WebhookDeliveryStatus {
        match self.0.status.as_str() {
            webhook_delivery::SUCCEEDED => WebhookDeliveryStatus::Succeeded,
            webhook_delivery::DEAD => WebhookDeliveryStatus::Dead,
            _ => WebhookDeliveryStatus::Pending,
        }
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at
    }
    /// When the next attempt is due (pending deliveries only).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0
            .next_attempt_at
            .filter(|_| self.0.status == webhook_delivery::PENDING)
    }
    /// The HTTP status of the last attempt; null if none came back.
    async fn response_status(&self) -> Option<i32> {
        self.0.response_status
    }
    /// The body as sent.
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.payload).unwrap_or_default())
    }
}

#[derive(InputObject, Default)]
pub struct WebhookDeliveryFilter {
    pub status: Option<WebhookDeliveryStatus>,
    pub event_type: Option<String>,
}

impl From<WebhookDeliveryFilter> for DeliveryFilter {
    fn from(f: WebhookDeliveryFilter) -> DeliveryFilter {
        DeliveryFilter {
            status: f.status.map(WebhookDeliveryStatus::stored),
            event_type: f.event_type,
        }
    }
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    pub url: String,
    pub events: Vec<String>,
    #[graphql(default = "")]
    pub description: String,
    #[graphql(default = true)]
    pub enabled: bool,
}

impl From<CreateWebhookEndpointInput> for EndpointInput {
    fn from(i: CreateWebhookEndpointInput) -> EndpointInput {
        EndpointInput {
            url: Some(i.url),
            events: Some(i.events),
            description: Some(i.description),
            enabled: Some(i.enabled),
        }
    }
}

#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

impl From<UpdateWebhookEndpointInput> for EndpointInput {
    fn from(i: UpdateWebhookEndpointInput) -> EndpointInput {
        EndpointInput {
            url: i.url,
            events: i.events,
            description: i.description,
            enabled: i.enabled,
        }
    }
}
