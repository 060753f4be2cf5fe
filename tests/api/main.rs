//! The one integration-test binary: each file in `tests/` would link
//! separately, and linking is the slow part of a build on two cores.

mod helpers;

mod accounts;
mod cli;
mod graphql_http;
mod in_place;
mod passwords;
mod resources;
mod schema;
mod signin;
mod two_factor;
