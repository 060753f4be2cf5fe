//! The Mutation root, merged from one part per capability.

mod account;
mod auth;
mod email_sign_in;
mod lifecycle;
mod oauth;
mod oauth_client;
mod organization;
mod passkey;
mod password;
mod product;
mod second_factor;
mod social;
mod user;
mod webhook;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    auth::AuthMutation,
    email_sign_in::EmailSignInMutation,
    lifecycle::LifecycleMutation,
    oauth::OauthMutation,
    oauth_client::OauthClientMutation,
    passkey::PasskeyMutation,
    password::PasswordMutation,
    organization::OrganizationMutation,
    product::ProductMutation,
    second_factor::SecondFactorMutation,
    social::SocialMutation,
    user::UserMutation,
    webhook::WebhookMutation,
);
