use async_graphql::{Context, ID, Object, Result};

use crate::error::AppError;
use crate::graphql::guards::{IsAuthenticated, authenticated};
use crate::graphql::types::uuid_arg;
use crate::graphql::{app, client};
use crate::services::signin::social::identities;

#[derive(Default)]
pub struct SocialMutation;

#[Object]
impl SocialMutation {
    /// Fresh: removes one of the viewer's identities, unless it is the
    /// account's only way to sign in.
    #[graphql(guard = "IsAuthenticated")]
    async fn unlink_identity(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let who = authenticated(ctx)?;
        let id = uuid_arg(&id, "id").map_err(|_| AppError::NotFound)?;
        identities::unlink(app(ctx)?, who, id, &client(ctx)?).await?;
        Ok(true)
    }
}
