//! Liveness and readiness for load balancers and orchestrators.

use std::time::Duration;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{IntoResponse, handler};

use crate::http::state::AppState;

/// Alive while the process serves requests.
#[handler]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready while the database answers and every background task runs: a
/// load balancer then stops sending traffic to an instance that lost one.
#[handler]
pub async fn readyz(Data(state): Data<&AppState>) -> impl IntoResponse {
    if let Some(task) = state.app.workers.down() {
        tracing::warn!(task, "readiness check: a background task is not running");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "a background task is not running",
        );
    }
    match tokio::time::timeout(Duration::from_secs(3), state.app.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out"),
    }
}
