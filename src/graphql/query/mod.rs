//! The Query root, merged from one part per capability.

mod account;
mod auth;
mod oauth;
mod oauth_client;
mod organization;
mod product;
mod security_event;
mod social;
mod user;
mod webhook;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(
    account::AccountQuery,
    auth::AuthQuery,
    oauth::OauthQuery,
    oauth_client::OauthClientQuery,
    organization::OrganizationQuery,
    product::ProductQuery,
    security_event::SecurityEventQuery,
    social::SocialQuery,
    user::UserQuery,
    webhook::WebhookQuery,
);
