//! Signing in and proving it again: `login` and `reauthenticate`.

pub mod login;
pub mod reauthentication;
