//! Live security events over WebSocket (API.md §8.6): the hub of open
//! sockets (`hub`, what the application context holds) and the sockets'
//! watch over their credential and events (`socket`).

mod hub;
mod socket;

pub use hub::{CHANNEL, LiveHub, Serving};
pub use socket::{LiveSocket, Refused, listen, open};
