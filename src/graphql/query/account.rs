use async_graphql::{Context, Object, Result};

use crate::graphql::guards::{IsAuthenticated, viewer};
use crate::graphql::types::User;

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user.
    #[graphql(guard = "IsAuthenticated")]
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        Ok(User::new(viewer(ctx)?.clone()))
    }
}
