//! authql: a GraphQL authentication server. See README.md for the tour and
//! `../shared/API.md` for the contract.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod webhook;
