//! Who a request comes from, as services record it: on sessions, events
//! and limits. At the bottom of the services, so every rule may take it.

use uuid::Uuid;

/// Where a sign-in comes from, recorded on its session.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: Option<String>,
    /// The session the request was made with, if any (security events).
    pub session_id: Option<Uuid>,
    /// The mutation being answered (`login`, `refreshToken` …): the
    /// custom-claims hook's `trigger` (API.md §11.5).
    pub trigger: Option<String>,
}
