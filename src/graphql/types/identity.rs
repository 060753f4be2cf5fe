//! Social sign-in's types (API.md §9.1): the configured providers, and a
//! user's identities at them.

use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::identity;

#[derive(SimpleObject)]
pub struct SocialProvider {
    pub name: String,
    pub display_name: String,
    /// `{PUBLIC_URL}/auth/{name}/start`.
    pub start_url: String,
}

pub struct Identity(pub identity::Model);

#[Object]
impl Identity {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The configured name, e.g. "google".
    async fn provider(&self) -> &str {
        &self.0.provider
    }
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// As the provider last asserted it.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn email_verified(&self) -> bool {
        self.0.email_verified
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Its latest sign-in.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
}
