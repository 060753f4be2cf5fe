//! The business rules, one module per capability. Services take a
//! connection or transaction and know nothing of HTTP or GraphQL.

pub mod account_deletion;
pub mod accounts;
pub mod activation;
pub mod api_tokens;
pub mod authentication;
pub mod client;
pub mod codes;
mod context;
pub mod credentials;
pub mod django_import;
pub mod email_change;
pub mod factor_changes;
pub mod fresh;
pub mod last_used;
pub mod live;
pub mod login;
pub mod login_limits;
pub mod logout;
pub mod mail;
pub mod maintenance;
pub mod otp;
pub mod pagination;
pub mod passkeys;
pub mod password_check;
pub mod passwords;
pub mod products;
pub mod profile;
pub mod rate_limit;
pub mod reauthentication;
pub mod recovery_codes;
pub mod registration;
pub mod security_events;
pub mod sessions;
pub mod totp;
pub mod two_factor;
pub mod users;
pub mod workers;

pub use context::AppContext;
