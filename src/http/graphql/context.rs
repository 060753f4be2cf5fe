//! The request context resolvers read, built alike for HTTP and the
//! WebSocket.

use async_graphql::parser::types::OperationType;
use poem::Request;
use poem::http::header;

use crate::auth::{RequestContext, Viewer};
use crate::http::client::client_ip;
use crate::http::state::AppState;

/// What resolvers learn of the request besides its document: who, and from
/// where (the client IP behind trusted proxies, the user agent, cut).
pub fn request_context(
    req: &Request,
    state: &AppState,
    viewer: Viewer,
    operation: OperationType,
) -> RequestContext {
    RequestContext {
        viewer,
        operation,
        client_ip: client_ip(req, &state.app.settings.trusted_proxies),
        user_agent: req
            .header(header::USER_AGENT)
            .map(|ua| ua.chars().take(512).collect()),
    }
}
