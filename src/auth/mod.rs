//! Who is asking, and the secrets that prove it: password hashing, link
//! tokens, random tokens and codes, second-factor secrets, and the
//! request's `Viewer`; and the OpenID providers' metadata and keys.

pub mod assurance;
pub mod django_hash;
#[cfg(test)]
pub(crate) mod fixtures;
mod hash_memory;
pub mod jwt;
pub mod keys;
pub mod link_token;
pub mod password;
mod phc;
pub mod pkce;
pub mod recovery_codes;
pub mod sealed;
pub mod social_providers;
pub mod tokens;
pub mod totp;
pub mod viewer;

pub use password::PasswordHasher;
pub use viewer::{RequestContext, Viewer};
