//! Poem's shared state: the services' context plus the schema built over it.

use std::sync::Arc;

use crate::graphql::AppSchema;
use crate::graphql::document::DocumentCache;
use crate::http::unacked::Unacked;
use crate::services::AppContext;

#[derive(Clone)]
pub struct AppState {
    pub app: AppContext,
    pub schema: AppSchema,
    pub documents: Arc<DocumentCache>,
    /// WebSockets not yet acknowledged, per client IP (API.md §8.9).
    pub unacked: Arc<Unacked>,
}
