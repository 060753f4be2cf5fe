//! Who is asking, and the secrets that prove it: password hashing, link
//! tokens, random tokens and codes, and the request's `Viewer`.

#[cfg(test)]
pub(crate) mod fixtures;
mod hash_memory;
pub mod jwt;
pub mod keys;
pub mod link_token;
pub mod password;
pub mod tokens;
pub mod viewer;

pub use password::PasswordHasher;
pub use viewer::{RequestContext, Viewer};
