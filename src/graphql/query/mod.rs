//! The Query root, merged from one part per capability.

mod account;
mod auth;
mod product;
mod user;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(
    account::AccountQuery,
    auth::AuthQuery,
    product::ProductQuery,
    user::UserQuery,
);
