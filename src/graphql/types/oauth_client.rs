//! The clients of the OAuth provider as staff see them (API.md §9.3). A
//! client's secret appears only in `OAuthClientCreated`, once.

use async_graphql::{Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::oauth_client;

use crate::domain::oauth::ClientType;
use crate::graphql::pagination::ListItem;
use crate::services::oauth::clients::{self, ClientChanges, NewClient, all_scope_names};

/// Whether a client authenticates with a secret (`CONFIDENTIAL`, a
/// server-side application) or relies on PKCE alone (`PUBLIC`).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "OAuthClientType")]
pub enum OAuthClientType {
    Confidential,
    Public,
}

impl From<OAuthClientType> for ClientType {
    fn from(t: OAuthClientType) -> ClientType {
        match t {
            OAuthClientType::Confidential => ClientType::Confidential,
            OAuthClientType::Public => ClientType::Public,
        }
    }
}

impl From<ClientType> for OAuthClientType {
    fn from(t: ClientType) -> OAuthClientType {
        match t {
            ClientType::Confidential => OAuthClientType::Confidential,
            ClientType::Public => OAuthClientType::Public,
        }
    }
}

#[derive(Clone)]
pub struct OAuthClient(pub oauth_client::Model);

impl ListItem for OAuthClient {
    const EDGE: &'static str = "OAuthClientEdge";
    const CONNECTION: &'static str = "OAuthClientConnection";
    const PAGE: &'static str = "OAuthClientPage";
}

#[Object(name = "OAuthClient")]
impl OAuthClient {
    /// The `client_id`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    #[graphql(name = "type")]
    async fn client_type(&self) -> OAuthClientType {
        clients::client_type(&self.0).into()
    }
    async fn redirect_uris(&self) -> Vec<String> {
        clients::redirect_uris(&self.0)
    }
    async fn post_logout_redirect_uris(&self) -> Vec<String> {
        clients::post_logout_redirect_uris(&self.0)
    }
    async fn allowed_scopes(&self) -> Vec<&'static str> {
        clients::scopes(&self.0).names()
    }
    /// First-party: no consent page, no notice.
    async fn skip_consent(&self) -> bool {
        self.0.skip_consent
    }
    /// Registered through `POST /oauth/register`.
    async fn dynamic(&self) -> bool {
        self.0.dynamic
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// When the current secret was made; null for a public client.
    async fn secret_created_at(&self) -> Option<DateTime<Utc>> {
        self.0.secret_created_at
    }
}

/// A client and its secret, shown only in this answer (null for a public
/// client).
#[derive(SimpleObject)]
#[graphql(name = "OAuthClientCreated")]
pub struct OAuthClientCreated {
    pub client: OAuthClient,
    pub client_secret: Option<String>,
}

#[derive(InputObject)]
pub struct CreateOAuthClientInput {
    pub name: String,
    #[graphql(name = "type")]
    pub client_type: OAuthClientType,
    pub redirect_uris: Vec<String>,
    #[graphql(default_with = "Some(Vec::new())")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[graphql(default_with = "Some(all_scope_names())")]
    pub allowed_scopes: Option<Vec<String>>,
    #[graphql(default_with = "Some(false)")]
    pub skip_consent: Option<bool>,
}

impl From<CreateOAuthClientInput> for NewClient {
    fn from(i: CreateOAuthClientInput) -> NewClient {
        NewClient {
            name: i.name,
            client_type: i.client_type.into(),
            redirect_uris: i.redirect_uris,
            post_logout_redirect_uris: i.post_logout_redirect_uris.unwrap_or_default(),
            allowed_scopes: i.allowed_scopes.unwrap_or_else(all_scope_names),
            skip_consent: i.skip_consent.unwrap_or(false),
        }
    }
}

#[derive(InputObject)]
pub struct UpdateOAuthClientInput {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub allowed_scopes: Option<Vec<String>>,
    pub skip_consent: Option<bool>,
}

impl From<UpdateOAuthClientInput> for ClientChanges {
    fn from(i: UpdateOAuthClientInput) -> ClientChanges {
        ClientChanges {
            name: i.name,
            redirect_uris: i.redirect_uris,
            post_logout_redirect_uris: i.post_logout_redirect_uris,
            allowed_scopes: i.allowed_scopes,
            skip_consent: i.skip_consent,
        }
    }
}
