//! Signing in and proving it again: `login`, email sign-in, social
//! sign-in, exchange codes and `reauthenticate`.

pub mod email_account;
pub mod email_sign_in;
pub mod exchange;
pub mod login;
pub mod reauthentication;
pub mod social;
