//! The per-IP count of WebSockets not yet acknowledged (API.md §8.9): a
//! client holds at most `MAX_UNACKED_PER_IP` (more are closed with `4429`),
//! so sockets that never send `connection_init` cannot pile up for the 10 s
//! they may wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Sockets one client IP may hold before their `connection_init` is
/// acknowledged.
pub const MAX_UNACKED_PER_IP: usize = 20;

/// Sockets not yet acknowledged, per client IP.
#[derive(Default)]
pub struct Unacked {
    by_ip: Mutex<HashMap<String, usize>>,
}

/// One socket's place in `Unacked`, given back when dropped.
pub struct Slot {
    unacked: Arc<Unacked>,
    ip: String,
}

impl Unacked {
    /// A place for a new socket of `ip`, or `None` when it holds
    /// `MAX_UNACKED_PER_IP` already.
    pub fn take(self: &Arc<Self>, ip: String) -> Option<Slot> {
        let mut by_ip = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        let held = by_ip.entry(ip.clone()).or_default();
        if *held >= MAX_UNACKED_PER_IP {
            return None;
        }
        *held += 1;
        Some(Slot {
            unacked: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut by_ip = self.unacked.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = by_ip.get_mut(&self.ip) {
            *held -= 1;
            if *held == 0 {
                by_ip.remove(&self.ip);
            }
        }
    }
}
