//! The provider's types a user sees (API.md §9.3): a client's public face,
//! a pending authorization (headless mode), a decision, a remembered grant.

use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{oauth_client, oauth_grant};

use crate::domain::oauth::Scopes;
use crate::services::oauth::authorizations::Pending;

/// What a user sees of a client.
#[derive(SimpleObject, Clone)]
#[graphql(name = "OAuthClientInfo")]
pub struct OAuthClientInfo {
    pub id: ID,
    pub name: String,
    pub dynamic: bool,
}

impl From<&oauth_client::Model> for OAuthClientInfo {
    fn from(c: &oauth_client::Model) -> Self {
        OAuthClientInfo {
            id: ID(c.id.to_string()),
            name: c.name.clone(),
            dynamic: c.dynamic,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "OAuthAuthorization")]
pub struct OAuthAuthorization {
    pub id: ID,
    pub client: OAuthClientInfo,
    /// Requested.
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub resource: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i32>,
    pub login_hint: Option<String>,
    /// False: a remembered grant covers it, or the client is first-party.
    pub consent_required: bool,
    pub expires_at: DateTime<Utc>,
}

impl OAuthAuthorization {
    pub fn new(id: String, pending: &Pending, consent_required: bool) -> Self {
        OAuthAuthorization {
            id: ID(id),
            client: (&pending.client).into(),
            scopes: pending
                .scopes()
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            redirect_uri: pending.row.redirect_uri.clone(),
            resource: pending.row.resource.clone(),
            prompt: pending
                .row
                .prompt
                .split(' ')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            max_age: pending
                .row
                .max_age
                .map(|m| i32::try_from(m).unwrap_or(i32::MAX)),
            login_hint: pending.row.login_hint.clone(),
            consent_required,
            expires_at: pending.row.expires_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "OAuthDecision")]
pub struct OAuthDecision {
    /// Where to send the browser next.
    pub redirect_to: String,
}

#[derive(SimpleObject)]
#[graphql(name = "OAuthGrant")]
pub struct OAuthGrant {
    pub id: ID,
    pub client: OAuthClientInfo,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl OAuthGrant {
    pub fn new(grant: oauth_grant::Model, client: &oauth_client::Model) -> Self {
        OAuthGrant {
            id: ID(grant.id.to_string()),
            client: client.into(),
            scopes: Scopes::stored(&grant.scopes)
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            created_at: grant.created_at,
            last_used_at: grant.last_used_at,
        }
    }
}
