//! Live security events over WebSocket (API.md §8.6): the sockets' watch
//! over their credential and events (`socket`); the hub of open sockets,
//! which the application context holds, is `shared::live_hub`.

mod socket;

pub use socket::{LiveSocket, Refused, listen, open};
