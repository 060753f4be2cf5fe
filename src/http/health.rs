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

/// Ready while the database answers: a load balancer then stops sending
/// traffic to an instance that lost it.
#[handler]
pub async fn readyz(Data(state): Data<&AppState>) -> impl IntoResponse {
    match tokio::time::timeout(Duration::from_secs(3), state.app.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out"),
    }
}
