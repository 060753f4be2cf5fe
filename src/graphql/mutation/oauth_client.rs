//! Staff manage the OAuth provider's clients (API.md §9.3): creating,
//! changing and re-keying in a fresh session; never with an API token.

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::guards::{IsStaff, authenticated};
use crate::graphql::types::oauth_client::{
    CreateOAuthClientInput, OAuthClient, OAuthClientCreated, UpdateOAuthClientInput,
};
use crate::graphql::types::uuid_arg;
use crate::graphql::{app, client};
use crate::services::oauth::clients;

#[derive(Default)]
pub struct OauthClientMutation;

#[Object]
impl OauthClientMutation {
    /// Staff, fresh: a new client and, for a confidential one, its secret
    /// (shown only here).
    #[graphql(name = "createOAuthClient", guard = "IsStaff")]
    async fn create_oauth_client(
        &self,
        ctx: &Context<'_>,
        input: CreateOAuthClientInput,
    ) -> Result<OAuthClientCreated> {
        let who = authenticated(ctx)?;
        let (made, secret) = clients::create(app(ctx)?, who, input.into(), &client(ctx)?).await?;
        Ok(OAuthClientCreated {
            client: OAuthClient(made),
            client_secret: secret,
        })
    }

    /// Staff, fresh: changes the fields given, for authorization and token
    /// requests from then on.
    #[graphql(name = "updateOAuthClient", guard = "IsStaff")]
    async fn update_oauth_client(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateOAuthClientInput,
    ) -> Result<OAuthClient> {
        let id = uuid_arg(&id, "id")?;
        let who = authenticated(ctx)?;
        let updated = clients::update(app(ctx)?, who, id, input.into(), &client(ctx)?).await?;
        Ok(OAuthClient(updated))
    }

    /// Staff, fresh: a new secret for a confidential client (shown only
    /// here); the old one stops working at once.
    #[graphql(name = "rotateOAuthClientSecret", guard = "IsStaff")]
    async fn rotate_oauth_client_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<OAuthClientCreated> {
        let id = uuid_arg(&id, "id")?;
        let who = authenticated(ctx)?;
        let (rotated, secret) = clients::rotate_secret(app(ctx)?, who, id, &client(ctx)?).await?;
        Ok(OAuthClientCreated {
            client: OAuthClient(rotated),
            client_secret: Some(secret),
        })
    }

    /// Staff: deletes a client with its grants and pending authorizations;
    /// every token issued to it is dead on the next request.
    #[graphql(name = "deleteOAuthClient", guard = "IsStaff")]
    async fn delete_oauth_client(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = uuid_arg(&id, "id")?;
        clients::delete(app(ctx)?, authenticated(ctx)?, id, &client(ctx)?).await?;
        Ok(true)
    }
}
