//! Metrics: the middleware that counts and times every request by route
//! template, and `GET /metrics` on `METRICS_ADDR`'s own listener (never on
//! `BIND_ADDR`), where the gauges read at scrape time are refreshed.

use std::sync::Arc;
use std::time::Instant;

use poem::endpoint::BoxEndpoint;
use poem::web::Data;
use poem::{Endpoint, EndpointExt, Response, Route, get, handler};

use crate::mail::outbox;
use crate::metrics::{Metrics, route_template};
use crate::services::AppContext;

/// Counts and times each request under its route template.
pub fn measured<E: Endpoint + 'static>(ep: E, metrics: Arc<Metrics>) -> BoxEndpoint<'static> {
    ep.around(move |ep, req| {
        let metrics = metrics.clone();
        async move {
            let route = route_template(req.uri().path());
            let started = Instant::now();
            let resp = ep.get_response(req).await;
            metrics
                .http_requests
                .with_label_values(&[route, resp.status().as_str()])
                .inc();
            metrics
                .http_duration
                .with_label_values(&[route])
                .observe(started.elapsed().as_secs_f64());
            Ok(resp)
        }
    })
    .boxed()
}

/// The routes of the metrics listener.
pub fn routes(app: AppContext) -> BoxEndpoint<'static> {
    Route::new().at("/metrics", get(scrape)).data(app).boxed()
}

#[handler]
async fn scrape(Data(app): Data<&AppContext>) -> Response {
    let metrics = &app.metrics;
    match outbox::pending(app.db.alone()).await {
        Ok(n) => metrics
            .mail_pending
            .set(i64::try_from(n).unwrap_or(i64::MAX)),
        Err(e) => tracing::warn!(error = %e, "metrics: could not count the outbox"),
    }
    let (size, idle) = pool_sizes(app.db.pool());
    let (direct, direct_idle) = app.db.read().connections();
    let (size, idle) = (size + direct as i64, idle + direct_idle as i64);
    metrics.db_pool.with_label_values(&["idle"]).set(idle);
    metrics
        .db_pool
        .with_label_values(&["in_use"])
        .set(size.saturating_sub(idle));
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}

/// The pool's open and idle connections.
fn pool_sizes(db: &sea_orm::DatabaseConnection) -> (i64, i64) {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (i64::from(pool.size()), pool.num_idle() as i64)
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (i64::from(pool.size()), pool.num_idle() as i64)
        }
    }
}
