//! Live security events over WebSocket (API.md §8.6): who has a socket
//! open, waking them when their account's security changes, and closing a
//! socket whose credential stops authenticating.
//!
//! Every event is recorded in the database with the change it describes
//! (`security_events::record`), so the database is the one source: a socket
//! reads its user's new events from it and re-checks its credential with
//! the very check every HTTP request makes (`authentication::authenticate`).
//! What differs by backend is only how a socket learns that it should look
//! now rather than at its next tick:
//!
//! - PostgreSQL: `record` sends `pg_notify` in the change's transaction (so
//!   only committed changes notify), and each instance keeps one `LISTEN`
//!   connection (`listen`) that wakes its own sockets of that user;
//! - SQLite (one instance): `listen` reads which users had events in the
//!   last moments, every `SQLITE_POLL`, one indexed query per instance
//!   however many sockets are open.
//!
//! The safety net is the tick: every socket re-checks its credential every
//! `TICK` even if no notification came (a lost notification, an access
//! token reaching `exp`), so revocation closes it within two seconds in
//! every case; it reads its events on the tick only every `EVENTS_EVERY`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::security_event::{self, Column};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::{self, now};
use crate::error::AppError;
use crate::services::AppContext;
use crate::services::credentials::authentication;
use crate::services::shared::live_hub::{CHANNEL, Registration};
/// How often a socket looks without being woken.
const TICK: Duration = Duration::from_secs(1);
/// Every how many ticks a socket that was not woken reads its events.
const EVENTS_EVERY: u32 = 5;
/// How often SQLite's listener reads which users had events.
const SQLITE_POLL: Duration = Duration::from_millis(200);
/// How far back a socket reads for events it has not yet seen: a change's
/// transaction commits within this long of stamping its event.
const LOOK_BACK: chrono::Duration = chrono::Duration::seconds(10);
/// Events a subscriber may lag behind before it misses some.
const BUFFERED: usize = 64;

/// Why a socket could not open.
#[derive(Debug)]
pub enum Refused {
    /// No credential, or one that does not authenticate.
    Credential,
    /// The user has `MAX_SUBSCRIPTIONS_PER_USER` sockets open.
    TooMany,
    /// Anything else (the database unavailable): try again.
    Unavailable(AppError),
}

/// An open socket: whose, the credential it was opened with (kept in
/// memory only, to check it again), and its user's new events.
pub struct LiveSocket {
    pub viewer: Viewer,
    authorization: String,
    user: Uuid,
    registration: Mutex<Registration>,
    events: broadcast::Sender<security_event::Model>,
}

/// Opens a socket for the `Authorization` value of its `connection_init`.
#[tracing::instrument(skip_all)]
pub async fn open(app: &AppContext, authorization: &str) -> Result<LiveSocket, Refused> {
    let viewer = match authentication::authenticate(app, authorization).await {
        Ok(viewer) => viewer,
        Err(AppError::Unauthenticated) => return Err(Refused::Credential),
        Err(e) => return Err(Refused::Unavailable(e)),
    };
    let user = viewer.user().ok_or(Refused::Credential)?.id;
    let registration = app
        .live
        .register(user, app.settings.max_subscriptions_per_user)
        .ok_or(Refused::TooMany)?;
    Ok(LiveSocket {
        viewer,
        authorization: authorization.to_owned(),
        user,
        registration: Mutex::new(registration),
        events: broadcast::channel(BUFFERED).0,
    })
}

impl LiveSocket {
    /// The user's events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<security_event::Model> {
        self.events.subscribe()
    }

    /// Hands the user's new events to subscribers while the credential
    /// authenticates; returns once it does not (the socket closes `4401`),
    /// after handing over the event that revoked it.
    pub async fn watch(&self, app: &AppContext) {
        let mut woken = self
            .registration
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .woken
            .clone();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seen = Seen::new(now(), LOOK_BACK);
        let mut ticks: u32 = 0;
        loop {
            let woke = tokio::select! {
                _ = woken.changed() => true,
                _ = tick.tick() => false,
            };
            // Events come with a wake-up; the tick reads them only every
            // `EVENTS_EVERY` ticks, for a notification that was lost. The
            // credential is checked on every tick (the 2-second promise).
            ticks = ticks.wrapping_add(u32::from(!woke));
            if woke || ticks.is_multiple_of(EVENTS_EVERY) {
                self.deliver(app, &mut seen).await;
            }
            match authentication::authenticate(app, &self.authorization).await {
                Err(AppError::Unauthenticated) => {
                    // The revoking change committed with its event.
                    self.deliver(app, &mut seen).await;
                    return;
                }
                Err(e) => tracing::warn!(code = e.code(), "could not re-check a live socket"),
                Ok(_) => {}
            }
        }
    }

    async fn deliver(&self, app: &AppContext, seen: &mut Seen) {
        let select = security_event::Entity::find()
            .filter(Column::UserId.eq(self.user))
            .filter(Column::CreatedAt.gte(seen.window()))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id);
        match app.db.read().all(select).await {
            Ok(events) => {
                for event in events {
                    if seen.first_time(&event) {
                        // No subscriber yet is not an error: nobody asked.
                        let _ = self.events.send(event);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read a live socket's events"),
        }
    }
}

/// The events already handed over (or woken for) in a look-back window.
struct Seen {
    since: DateTime<Utc>,
    look_back: chrono::Duration,
    ids: HashMap<Uuid, DateTime<Utc>>,
}

impl Seen {
    fn new(since: DateTime<Utc>, look_back: chrono::Duration) -> Seen {
        Seen {
            since,
            look_back,
            ids: HashMap::new(),
        }
    }

    /// From when to read: the start, or the look-back window.
    fn window(&mut self) -> DateTime<Utc> {
        let from = self.since.max(now() - self.look_back);
        self.ids.retain(|_, at| *at >= from);
        from
    }

    fn first_time(&mut self, event: &security_event::Model) -> bool {
        self.ids.insert(event.id, event.created_at).is_none()
    }
}

/// Wakes this instance's sockets when their users' events are recorded,
/// until `stop` (see the module's notes). Runs under `workers::supervise`:
/// a lost connection ends it, and it is started again.
#[tracing::instrument(skip_all)]
pub async fn listen(app: AppContext, mut stop: watch::Receiver<bool>) {
    let url = &app.settings.database_listen_url;
    let listener = match db::Listener::connect(url, CHANNEL).await {
        Ok(listener) => listener,
        Err(e) => return tracing::warn!(error = %e, "could not listen for events"),
    };
    if let Some(mut listener) = listener {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                received = listener.recv() => match received {
                    Ok(payload) => {
                        if let Ok(user) = payload.parse() {
                            app.live.wake(user);
                        }
                    }
                    Err(e) => return tracing::warn!(error = %e, "event listener lost"),
                },
            }
        }
    }
    // A short look-back: the tick catches anything later.
    let mut seen = Seen::new(now(), LOOK_BACK / 5);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(SQLITE_POLL) => {}
        }
        if app.live.is_empty() {
            seen = Seen::new(now(), LOOK_BACK / 5);
            continue;
        }
        let recent = security_event::Entity::find().filter(Column::CreatedAt.gte(seen.window()));
        match app.db.read().all(recent).await {
            Ok(events) => {
                for event in events.iter().filter(|e| seen.first_time(e)) {
                    app.live.wake(event.user_id);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read recent events"),
        }
    }
}
