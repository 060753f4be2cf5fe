//! The business rules, one module per capability. Services take a
//! connection or transaction and know nothing of HTTP or GraphQL.

pub mod accounts;
pub mod api_tokens;
pub mod maintenance;
pub mod otp;
pub mod pagination;
pub mod passwords;
pub mod products;
pub mod rate_limit;
pub mod sessions;
pub mod users;
