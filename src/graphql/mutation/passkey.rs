//! Passkeys (API.md §8.4): adding, renaming and removing them (signed in;
//! adding and removing in a fresh session), and signing in with one.

use async_graphql::{Context, ID, Json, Object, Result};

use crate::graphql::guards::{IsAuthenticated, authenticated};
use crate::graphql::types::{AuthPayload, Passkey, PasskeyOptions, uuid_arg};
use crate::graphql::{app, client};
use crate::services::factors::passkeys;

#[derive(Default)]
pub struct PasskeyMutation;

#[Object]
impl PasskeyMutation {
    /// Options for `navigator.credentials.create`; `finishPasskeyRegistration`
    /// takes the result.
    #[graphql(guard = "IsAuthenticated")]
    async fn begin_passkey_registration(&self, ctx: &Context<'_>) -> Result<PasskeyOptions> {
        Ok(passkeys::begin_registration(app(ctx)?, authenticated(ctx)?)
            .await?
            .into())
    }

    /// Adds the passkey the browser made (`PublicKeyCredential.toJSON()`).
    #[graphql(guard = "IsAuthenticated")]
    async fn finish_passkey_registration(
        &self,
        ctx: &Context<'_>,
        challenge_id: ID,
        credential: Json<serde_json::Value>,
        name: Option<String>,
    ) -> Result<Passkey> {
        let challenge = uuid_arg(&challenge_id, "challengeId")?;
        let row = passkeys::finish_registration(
            app(ctx)?,
            authenticated(ctx)?,
            challenge,
            credential.0,
            name,
            &client(ctx)?,
        )
        .await?;
        Ok(row.into())
    }

    #[graphql(guard = "IsAuthenticated")]
    async fn rename_passkey(&self, ctx: &Context<'_>, id: ID, name: String) -> Result<Passkey> {
        let id = uuid_arg(&id, "id")?;
        Ok(passkeys::rename(app(ctx)?, authenticated(ctx)?, id, &name)
            .await?
            .into())
    }

    #[graphql(guard = "IsAuthenticated")]
    async fn delete_passkey(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = uuid_arg(&id, "id")?;
        passkeys::delete(app(ctx)?, authenticated(ctx)?, id, &client(ctx)?).await?;
        Ok(true)
    }

    /// Options for `navigator.credentials.get`. Without `email` any of the
    /// browser's passkeys for this site will do (discoverable credentials).
    async fn begin_passkey_login(
        &self,
        ctx: &Context<'_>,
        email: Option<String>,
    ) -> Result<PasskeyOptions> {
        Ok(
            passkeys::begin_login(app(ctx)?, email.as_deref(), &client(ctx)?)
                .await?
                .into(),
        )
    }

    /// Signs in with the browser's assertion: no password, no second factor.
    async fn finish_passkey_login(
        &self,
        ctx: &Context<'_>,
        challenge_id: ID,
        credential: Json<serde_json::Value>,
    ) -> Result<AuthPayload> {
        let challenge = uuid_arg(&challenge_id, "challengeId")?;
        let tokens =
            passkeys::finish_login(app(ctx)?, challenge, credential.0, &client(ctx)?).await?;
        Ok(tokens.into())
    }
}
