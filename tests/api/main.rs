//! The one integration-test binary: each file in `tests/` would link
//! separately, and linking is the slow part of a build on two cores.

mod helpers;

mod accounts;
mod activation;
mod admission;
mod assurance;
mod bounded_search;
mod claims_hook;
mod cli;
mod credential_lifecycle;
mod database_tls;
mod deadlines;
mod direct;
mod django_import;
mod email_change;
mod email_sign_in;
mod email_sign_in_limits;
mod floods;
mod fresh_sessions;
mod graphql_http;
mod hostile_strings;
mod in_place;
mod lifecycle;
mod live;
mod metrics;
mod org_claims;
mod organizations;
mod outbox;
mod pagination;
mod passkeys;
mod passwords;
mod resources;
mod robustness;
mod schema;
mod search_index;
mod security_events;
mod signin;
mod signing_keys;
mod takeover;
mod tokens;
mod totp;
mod two_factor;
mod users_admin;
mod webhooks;
mod ws_admission;
