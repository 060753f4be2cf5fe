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

/// Ready while the database answers, every background task runs and the
/// instance is not stopping: a load balancer then stops sending traffic to
/// an instance that lost one, or is shutting down.
#[handler]
pub async fn readyz(Data(state): Data<&AppState>) -> impl IntoResponse {
    // Stopping (SIGTERM): not ready at once, so a load balancer sends no
    // more while accepted requests finish (API.md §8.10).
    if *state.app.live.stopping().borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    if let Some(task) = state.app.workers.down() {
        tracing::warn!(task, "readiness check: a background task is not running");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "a background task is not running",
        );
    }
    match tokio::time::timeout(Duration::from_secs(3), state.app.db.pool().ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out"),
    }
}
