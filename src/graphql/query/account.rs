use async_graphql::{Context, Object, Result};

use crate::auth::RequestContext;
use crate::error::AppError;
use crate::graphql::types::User;

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let rc = RequestContext::of(ctx)?;
        let user = rc.viewer.user().ok_or(AppError::Unauthenticated)?;
        Ok(User(user.clone()))
    }
}
