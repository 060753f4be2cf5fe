//! The open sockets of this instance, by user: what the application
//! context holds and what recording an event wakes. It knows nothing of
//! credentials, so everything below the sign-in rules may use it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

/// The channel `security_events::record` notifies on PostgreSQL.
pub const CHANNEL: &str = "authql_security_events";

/// The open sockets of this instance, by user.
pub struct LiveHub {
    users: Mutex<HashMap<Uuid, Entry>>,
    stopping: watch::Sender<bool>,
    /// Sockets being served, signed in or not (see `serving`).
    sockets: watch::Sender<usize>,
}

impl Default for LiveHub {
    fn default() -> LiveHub {
        LiveHub {
            users: Mutex::default(),
            stopping: watch::channel(false).0,
            sockets: watch::channel(0).0,
        }
    }
}

/// Counts a socket as served until dropped.
pub struct Serving(Arc<LiveHub>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.sockets.send_modify(|n| *n -= 1);
    }
}

pub(crate) struct Entry {
    open: usize,
    wake: watch::Sender<u64>,
}

impl LiveHub {
    /// Something changed for `user`: its sockets look now.
    pub fn wake(&self, user: Uuid) {
        if let Some(entry) = self.lock().get(&user) {
            entry.wake.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// The server is shutting down: every socket closes (`1001`).
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Changes once, when the server starts shutting down.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Marks one more socket as served, for `drained`.
    pub fn serving(self: &Arc<Self>) -> Serving {
        self.sockets.send_modify(|n| *n += 1);
        Serving(self.clone())
    }

    /// Waits (at most `limit`) until every socket has sent its close:
    /// upgraded connections are not the HTTP server's to wait for.
    pub async fn drained(&self, limit: Duration) {
        let mut sockets = self.sockets.subscribe();
        let _ = tokio::time::timeout(limit, sockets.wait_for(|n| *n == 0)).await;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for one more socket of `user`, unless it has `cap` already.
    pub(crate) fn register(self: &Arc<Self>, user: Uuid, cap: usize) -> Option<Registration> {
        let mut users = self.lock();
        let entry = users.entry(user).or_insert_with(|| Entry {
            open: 0,
            wake: watch::channel(0).0,
        });
        if entry.open >= cap {
            return None;
        }
        entry.open += 1;
        Some(Registration {
            woken: entry.wake.subscribe(),
            hub: self.clone(),
            user,
        })
    }
}

/// One socket's place in the hub, given back when the socket ends.
pub(crate) struct Registration {
    hub: Arc<LiveHub>,
    user: Uuid,
    pub(crate) woken: watch::Receiver<u64>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut users = self.hub.lock();
        if let Some(entry) = users.get_mut(&self.user) {
            entry.open -= 1;
            if entry.open == 0 {
                users.remove(&self.user);
            }
        }
    }
}
