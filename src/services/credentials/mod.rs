//! Credentials and their one lifecycle (API.md §8.8): sessions, API tokens, checking a password, authenticating a request, signing out.

pub mod api_tokens;
pub mod authentication;
pub mod lifecycle;
pub mod login_limits;
pub mod logout;
pub mod minting;
pub mod own_sessions;
pub mod password_check;
pub mod sessions;
