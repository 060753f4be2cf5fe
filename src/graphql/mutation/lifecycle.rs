//! An account's life after sign-up (API.md §8.5): changing its address and
//! deleting it.

use async_graphql::{Context, Object, Result};

use crate::graphql::guards::{IsAuthenticated, authenticated};
use crate::graphql::{app, client};
use crate::services::account_deletion;

#[derive(Default)]
pub struct LifecycleMutation;

#[Object]
impl LifecycleMutation {
    /// Deletes the signed-in user's account and everything that is its,
    /// after checking the password; the address is mailed a notice.
    #[graphql(guard = "IsAuthenticated")]
    async fn delete_account(&self, ctx: &Context<'_>, password: String) -> Result<bool> {
        account_deletion::delete_account(app(ctx)?, authenticated(ctx)?, &password, &client(ctx)?)
            .await?;
        Ok(true)
    }
}
