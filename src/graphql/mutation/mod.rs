//! The Mutation root, merged from one part per capability.

mod account;
mod auth;
mod password;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    auth::AuthMutation,
    password::PasswordMutation,
);
