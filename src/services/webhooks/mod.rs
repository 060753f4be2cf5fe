//! Webhooks (API.md §11): endpoints staff manage, deliveries they steer,
//! and the worker that sends them. The outbox rows themselves are written
//! by `shared::webhook_outbox`, in the transaction of each event.

pub mod deliveries;
pub mod endpoints;
pub mod worker;
