//! authql as an OAuth 2.1 / OpenID Connect provider (API.md §9.3): the
//! clients staff manage, authorization requests and their decisions,
//! codes, the provider's sessions and tokens, and remembered consents.
//! Its sessions are sessions (`sessions` rows), so every rule that ends
//! sessions ends them.

pub mod authorizations;
pub mod browser;
pub mod client_auth;
pub mod clients;
pub mod grants;
pub mod headless;
pub mod logout;
pub mod minting;
pub mod request;
pub mod resource;
pub mod token;
