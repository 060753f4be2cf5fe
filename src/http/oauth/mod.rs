//! The OAuth 2.1 / OpenID Connect provider's routes (API.md §9.3). Every
//! one answers `404` while `OAUTH_PROVIDER` is off.

pub mod authorize;
pub mod common;
pub mod endpoints;
pub mod pages;
pub mod token;
