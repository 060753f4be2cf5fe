//! GraphQL output and input types, built from entities (never derived on them).

pub mod user;

pub use user::{Gender, User};
