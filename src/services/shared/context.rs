//! What every service shares, built once by `startup`: the database, the
//! settings, the hashing queue and the outbox's wake-up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::auth::PasswordHasher;
use crate::auth::jwt::SigningKeys;
use crate::config::Settings;
use crate::db;
use crate::metrics::Metrics;
use crate::services::shared::live_hub::LiveHub;
use crate::services::shared::relying_party::Passkeys;
use crate::services::shared::workers::Workers;

/// The application's shared parts, cheap to clone; also the schema's global
/// data, so resolvers reach the database and settings through it.
#[derive(Clone)]
pub struct AppContext {
    /// The pool: transactions, and everything not on the hot path.
    pub db: DatabaseConnection,
    /// For hot, bounded statements outside transactions (the session check,
    /// pages, owners, counts, single inserts): SeaORM's queries and models,
    /// on the pool or, on a SQLite file, in place (`db::Hot`).
    pub hot: db::Hot,
    pub settings: Arc<Settings>,
    /// Signs and verifies access tokens; publishes the JWKS.
    pub keys: Arc<SigningKeys>,
    pub hasher: Arc<PasswordHasher>,
    /// This application's metrics (served on `METRICS_ADDR`).
    pub metrics: Arc<Metrics>,
    /// Wakes this process's outbox worker after a commit that queued mail.
    pub mail_wake: Arc<Notify>,
    /// Statements run on `db`, and reads run on `hot`, since start (not the
    /// grouped writes): an operational gauge, and how tests see that a page
    /// of products costs a fixed number of queries.
    pub queries: Arc<AtomicU64>,
    /// Which background tasks run, for `/readyz` (`services::workers`).
    pub workers: Arc<Workers>,
    /// The open WebSocket connections, by user (`services::live`).
    pub live: Arc<LiveHub>,
    /// Passkeys' relying party, or why passkeys are off.
    pub passkeys: Arc<Passkeys>,
}

impl AppContext {
    /// Builds the context over a connected database; loads (in development
    /// perhaps generates) the signing keys, logging why if it generated one.
    pub fn new(mut db: DatabaseConnection, settings: Arc<Settings>) -> anyhow::Result<AppContext> {
        let (keys, warning) = SigningKeys::load(&settings)?;
        let metrics = Arc::new(Metrics::new());
        if let Some(warning) = warning {
            tracing::warn!("{warning}");
        }
        let queries = Arc::new(AtomicU64::new(0));
        let counter = queries.clone();
        db.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            if info.elapsed > db::SLOW_QUERY {
                // Timing only: statements can carry secrets in their values.
                tracing::warn!(
                    elapsed_ms = info.elapsed.as_millis() as u64,
                    failed = info.failed,
                    "slow query"
                );
            }
        });
        let hot = db::Hot::new(
            &settings.database_url,
            &db,
            queries.clone(),
            settings.query_timeout,
        )?;
        Ok(AppContext {
            keys: Arc::new(keys),
            queries,
            hot,
            hasher: Arc::new(PasswordHasher::new(
                settings.hash_concurrency,
                settings.hash_queue_timeout,
                metrics.clone(),
            )),
            metrics,
            mail_wake: Arc::new(Notify::new()),
            workers: Arc::default(),
            live: Arc::default(),
            passkeys: Arc::new(Passkeys::new(&settings)),
            db,
            settings,
        })
    }
}
