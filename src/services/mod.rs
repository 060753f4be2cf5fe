//! The business rules, in rooms that import one way, bottom to top:
//! `shared` (the context, transactions with mail, limits, events, guards),
//! `credentials`, `factors`, `signin`, `account`, and beside them `live`
//! (WebSocket events), `organizations` and `resources`. Services take a connection or
//! transaction and know nothing of HTTP or GraphQL.

pub mod account;
pub mod credentials;
pub mod factors;
pub mod live;
pub mod oauth;
pub mod organizations;
pub mod resources;
pub mod shared;
pub mod signin;
pub mod webhooks;

pub use shared::context::AppContext;
