//! What every service shares, at the bottom of the services: the application context, the client, transactions that queue mail, limits, list plumbing, account lookups, security events, and the guards of fresh sessions.

pub mod accounts;
pub mod claims_hook;
pub mod client;
pub mod context;
pub mod fresh;
pub mod identity_links;
pub mod last_used;
pub mod live_hub;
pub mod mail;
pub mod pagination;
pub mod rate_limit;
pub mod relying_party;
pub mod search;
pub mod security_events;
pub mod two_factor;
pub mod webhook_outbox;
pub mod workers;
