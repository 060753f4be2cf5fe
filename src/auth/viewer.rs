//! The viewer of a request, resolved once per request by the HTTP layer and
//! read by guards and resolvers from the GraphQL context.

use std::net::IpAddr;

use entity::{session, user};
use uuid::Uuid;

use crate::auth::assurance::Proof;
use crate::domain::organization::Role;
use crate::error::AppError;

/// How the request proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A Bearer access token of this session.
    Session(Uuid),
    /// An API token (`Authorization: Token …`).
    ApiToken(Uuid),
}

#[derive(Clone, Debug)]
pub struct Authenticated {
    pub user: user::Model,
    pub credential: Credential,
    /// The session's active organization and the viewer's role in it, as
    /// the session check found them equal to the token's claims (API.md
    /// §10.4); `None` for an API token.
    pub organization: Option<(Uuid, Role)>,
    /// What the session's user last proved and when (API.md §8.8); `None`
    /// for an API token, which is never fresh and touches no credential.
    pub proof: Option<Proof>,
}

/// The signed-in user of a request, or nobody.
#[derive(Clone, Debug, Default)]
pub enum Viewer {
    #[default]
    Anonymous,
    User(Box<Authenticated>),
}

impl Viewer {
    pub fn user(&self) -> Option<&user::Model> {
        self.authenticated().map(|a| &a.user)
    }

    pub fn authenticated(&self) -> Option<&Authenticated> {
        match self {
            Viewer::Anonymous => None,
            Viewer::User(a) => Some(a),
        }
    }

    pub fn is_staff(&self) -> bool {
        self.user().is_some_and(|u| u.is_staff)
    }
}

/// Per-request facts handed to resolvers as GraphQL context data.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub viewer: Viewer,
    /// Query or mutation: what DRF would read from the HTTP method.
    pub operation: async_graphql::parser::types::OperationType,
    /// The client: the TCP peer, or `X-Forwarded-For` when the peer is a trusted proxy.
    pub client_ip: IpAddr,
    pub user_agent: Option<String>,
}

impl RequestContext {
    /// The context the HTTP layer attached; its absence is a wiring bug.
    pub fn of<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a RequestContext, AppError> {
        ctx.data_opt::<RequestContext>()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("request context missing")))
    }
}

/// A session's active organization and the role its tokens claim.
pub fn active_organization(sess: &session::Model) -> Option<(Uuid, Role)> {
    Some((
        sess.active_org_id?,
        Role::parse(sess.active_org_role.as_deref()?)?,
    ))
}
