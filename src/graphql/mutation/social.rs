use async_graphql::{Context, ID, Object, Result};

use crate::error::AppError;
use crate::graphql::guards::{IsAuthenticated, authenticated};
use crate::graphql::types::LoginResult;
use crate::graphql::types::identity::Identity;
use crate::graphql::types::uuid_arg;
use crate::graphql::{app, client};
use crate::services::signin::social::{self, identities, native};

#[derive(Default)]
pub struct SocialMutation;

#[Object]
impl SocialMutation {
    /// Anyone (a token view): signs in with the ID token a native app got
    /// from the provider's SDK; what `login` answers.
    async fn sign_in_with_id_token(
        &self,
        ctx: &Context<'_>,
        provider: String,
        id_token: String,
        nonce: String,
    ) -> Result<LoginResult> {
        let outcome =
            native::sign_in(app(ctx)?, &provider, &id_token, &nonce, &client(ctx)?).await?;
        Ok(outcome.into())
    }

    /// Fresh: links the identity a browser flow's exchange code proves.
    #[graphql(guard = "IsAuthenticated")]
    async fn link_identity(
        &self,
        ctx: &Context<'_>,
        code: String,
        code_verifier: String,
    ) -> Result<Identity> {
        let who = authenticated(ctx)?;
        let linked =
            social::link_code(app(ctx)?, who, &code, &code_verifier, &client(ctx)?).await?;
        Ok(Identity(linked))
    }

    /// Fresh: links the identity a native app's fresh ID token proves.
    #[graphql(guard = "IsAuthenticated")]
    async fn link_identity_with_id_token(
        &self,
        ctx: &Context<'_>,
        provider: String,
        id_token: String,
        nonce: String,
    ) -> Result<Identity> {
        let who = authenticated(ctx)?;
        let linked =
            social::link_id_token(app(ctx)?, who, &provider, &id_token, &nonce, &client(ctx)?)
                .await?;
        Ok(Identity(linked))
    }

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
