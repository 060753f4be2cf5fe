use async_graphql::{Context, Object, Result};

use crate::graphql::app;
use crate::graphql::guards::{IsAuthenticated, viewer};
use crate::graphql::types::{Passkey, User};
use crate::services::factors::passkeys;

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user.
    #[graphql(guard = "IsAuthenticated")]
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        Ok(User::new(viewer(ctx)?.clone()))
    }

    /// The viewer's passkeys, oldest first.
    #[graphql(guard = "IsAuthenticated")]
    async fn passkeys(&self, ctx: &Context<'_>) -> Result<Vec<Passkey>> {
        let rows = passkeys::list(app(ctx)?, viewer(ctx)?.id).await?;
        Ok(rows.into_iter().map(Passkey::from).collect())
    }
}
