//! What every service shares, built once by `startup`: the database, the
//! settings, the hashing queue and the outbox's wake-up.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::Notify;

use crate::auth::PasswordHasher;
use crate::auth::jwt::SigningKeys;
use crate::auth::social_providers::SocialProviders;
use crate::config::Settings;
use crate::db;
use crate::metrics::Metrics;
use crate::services::shared::live_hub::LiveHub;
use crate::services::shared::relying_party::Passkeys;
use crate::services::shared::workers::Workers;
use crate::webhook::sender::Sender;

/// The application's shared parts, cheap to clone; also the schema's global
/// data, so resolvers reach the database and settings through it.
#[derive(Clone)]
pub struct AppContext {
    /// The database (`db::Db`): reads, write transactions, grouped inserts.
    pub db: db::Db,
    pub settings: Arc<Settings>,
    /// Signs and verifies access tokens; publishes the JWKS.
    pub keys: Arc<SigningKeys>,
    pub hasher: Arc<PasswordHasher>,
    /// This application's metrics (served on `METRICS_ADDR`).
    pub metrics: Arc<Metrics>,
    /// Wakes this process's outbox worker after a commit that queued mail.
    pub mail_wake: Arc<Notify>,
    /// Statements run on the pool, and reads on the fast path, since start (not the
    /// grouped writes): an operational gauge, and how tests see that a page
    /// of products costs a fixed number of queries.
    pub queries: Arc<AtomicU64>,
    /// Which background tasks run, for `/readyz` (`services::workers`).
    pub workers: Arc<Workers>,
    /// The open WebSocket connections, by user (`services::live`).
    pub live: Arc<LiveHub>,
    /// Passkeys' relying party, or why passkeys are off.
    pub passkeys: Arc<Passkeys>,
    /// The custom-claims hook's client, when a hook is configured.
    pub hook_sender: Option<Sender>,
    /// The OpenID providers' metadata and keys (social sign-in).
    pub social: Arc<SocialProviders>,
}

impl AppContext {
    /// Builds the context over a connected database; loads (in development
    /// perhaps generates) the signing keys, logging why if it generated one.
    pub fn new(pool: db::Pool, settings: Arc<Settings>) -> anyhow::Result<AppContext> {
        let (keys, warning) = SigningKeys::load(&settings)?;
        let metrics = Arc::new(Metrics::new());
        if let Some(warning) = warning {
            tracing::warn!("{warning}");
        }
        let queries = Arc::new(AtomicU64::new(0));
        let db = db::Db::open(
            pool,
            &settings.database_url,
            settings.query_timeout,
            queries.clone(),
            settings.database_pooled,
        )?;
        Ok(AppContext {
            keys: Arc::new(keys),
            queries,
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
            // The operator's own hook: private addresses allowed (§11.4).
            hook_sender: match &settings.webhooks.claims_hook {
                Some(hook) => Some(Sender::new(hook.timeout, true)?),
                None => None,
            },
            social: Arc::default(),
            db,
            settings,
        })
    }
}
