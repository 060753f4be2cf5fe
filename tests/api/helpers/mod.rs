//! Test harness: the real application (`Application::build`) on a random
//! port over a fresh database, talked to over HTTP as a client would.
//!
//! SQLite by default; PostgreSQL when `TEST_DATABASE_URL` is set, with a new
//! database created per test and dropped afterwards. An unreachable
//! `TEST_DATABASE_URL` fails the test: a PostgreSQL pass must never skip.

pub mod app;
pub mod authenticator;
mod database;
pub mod mail;
pub mod oauth;
pub mod op;
pub mod orgs;
pub mod passkey;
pub mod pgbouncer;
mod process;
pub mod products;
pub mod receiver;
pub mod smtp;
pub mod two_factor;
pub mod users;
pub mod ws;

pub use app::{TestApp, spawn_app, spawn_app_with, test_vars};
pub use database::TestDatabase;
pub use process::{ProcessApp, free_port, spawn_process};
pub use users::{PASSWORD, TestUser, assert_rate_limited, code};
