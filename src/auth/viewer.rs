//! The viewer of a request, resolved once per request by the HTTP layer and
//! read by guards and resolvers from the GraphQL context.

use std::net::IpAddr;

use entity::user;

use crate::error::AppError;

/// The signed-in user of a request, or nobody.
#[derive(Clone, Debug, Default)]
pub enum Viewer {
    #[default]
    Anonymous,
    User(Box<user::Model>),
}

impl Viewer {
    pub fn user(&self) -> Option<&user::Model> {
        match self {
            Viewer::Anonymous => None,
            Viewer::User(u) => Some(u),
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
