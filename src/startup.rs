//! Builds the whole application from `Settings`: database, migrations,
//! schema, routes and background workers. `main` and the tests both go
//! through `Application::build`, so tests exercise what production runs.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use poem::Server;
use poem::listener::{Acceptor, Listener, TcpListener};
use tokio::sync::watch;

use crate::config::Settings;
use crate::db::{self, MigrateCommand};
use crate::graphql;
use crate::http;
use crate::http::state::AppState;
use crate::mail::Outbox;
use crate::services::AppContext;
use crate::services::account::maintenance;
use crate::services::live;
use crate::services::shared::workers::supervise;
use crate::services::webhooks;

pub struct Application {
    addr: SocketAddr,
    acceptor: poem::listener::TcpAcceptor,
    state: AppState,
    outbox: Arc<Outbox>,
    /// `METRICS_ADDR`'s own listener, when set.
    metrics: Option<(SocketAddr, poem::listener::TcpAcceptor)>,
}

impl Application {
    /// Connects, migrates, and binds the listener (port 0 picks a free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        db::migrate(settings.migration_url(), MigrateCommand::Up)
            .await
            .context("running migrations")?;
        let db = db::connect(
            &settings.database_url,
            Some(settings.query_timeout),
            settings.database_pooled,
        )
        .await
        .context("connecting to the database")?;
        let settings = Arc::new(settings);
        let app = AppContext::new(db, settings.clone())?;
        // Checked here so a bad EMAIL_URL or EMAIL_FROM stops start-up, not the first mail.
        let outbox = Outbox::new(
            app.db.alone().clone(),
            &settings,
            app.mail_wake.clone(),
            app.metrics.clone(),
        )?;
        let schema = graphql::builder(&settings).data(app.clone()).finish();
        let acceptor = TcpListener::bind(settings.bind_addr)
            .into_acceptor()
            .await
            .with_context(|| format!("binding {}", settings.bind_addr))?;
        let addr = local_addr(&acceptor)?;
        let metrics = match settings.metrics_addr {
            None => None,
            Some(bind) => {
                let acceptor = TcpListener::bind(bind)
                    .into_acceptor()
                    .await
                    .with_context(|| format!("binding METRICS_ADDR {bind}"))?;
                Some((local_addr(&acceptor)?, acceptor))
            }
        };
        Ok(Application {
            metrics,
            addr,
            acceptor,
            state: AppState {
                app,
                schema,
                documents: Default::default(),
                unacked: Default::default(),
            },
            outbox: Arc::new(outbox),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `GET /metrics` is served, when `METRICS_ADDR` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(addr, _)| *addr)
    }

    /// The count of statements run so far (see `AppContext::queries`).
    pub fn query_counter(&self) -> Arc<std::sync::atomic::AtomicU64> {
        self.state.app.queries.clone()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until SIGINT or SIGTERM, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        tracing::info!(addr = %self.addr, "serving GraphQL at http://{}/graphql", self.addr);
        let (stop_workers, workers_stopped) = watch::channel(false);
        let app = &self.state.app;
        let outbox = {
            let (outbox, stop) = (self.outbox.clone(), workers_stopped.clone());
            tokio::spawn(supervise(
                app.workers.clone(),
                "mail worker",
                workers_stopped.clone(),
                move || outbox.clone().run(stop.clone()),
            ))
        };
        let cleanup = {
            let (db, retention) = (app.db.clone(), app.settings.audit_retention);
            let stop = workers_stopped.clone();
            tokio::spawn(supervise(
                app.workers.clone(),
                "clean-up",
                workers_stopped.clone(),
                move || maintenance::run(db.clone(), retention, stop.clone()),
            ))
        };
        let metrics = self.metrics.map(|(addr, acceptor)| {
            tracing::info!(addr = %addr, "serving metrics at http://{addr}/metrics");
            let mut stopped = stop_workers.subscribe();
            tokio::spawn(
                Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
                    http::metrics::routes(self.state.app.clone()),
                    async move {
                        let _ = stopped.changed().await;
                    },
                    Some(self.state.app.settings.shutdown_grace),
                ),
            )
        });
        let webhooks = {
            let (app, stop) = (app.clone(), workers_stopped.clone());
            tokio::spawn(supervise(
                app.workers.clone(),
                "webhook worker",
                workers_stopped.clone(),
                move || webhooks::worker::run(app.clone(), stop.clone()),
            ))
        };
        let listener = {
            let (app, stop) = (app.clone(), workers_stopped.clone());
            tokio::spawn(supervise(
                app.workers.clone(),
                "event listener",
                workers_stopped,
                move || live::listen(app.clone(), stop.clone()),
            ))
        };
        let routes = http::routes(self.state.clone());
        // Open WebSockets close (1001) as soon as shutdown begins, rather
        // than hold the graceful shutdown to its limit.
        let live = app.live.clone();
        let stop = async move {
            stop.await;
            live.stop();
        };
        // `SHUTDOWN_GRACE`: how long accepted requests get to finish.
        let grace = app.settings.shutdown_grace;
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(routes, stop, Some(grace))
            .await;
        self.state.app.live.drained(grace).await;
        let _ = stop_workers.send(true);
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        let _ = outbox.await;
        let _ = cleanup.await;
        let _ = webhooks.await;
        let _ = listener.await;
        self.state.app.db.pool().close_by_ref().await.ok();
        served?;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

fn local_addr(acceptor: &poem::listener::TcpAcceptor) -> anyhow::Result<SocketAddr> {
    acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .context("the listener has no address")
}
