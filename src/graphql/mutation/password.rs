use async_graphql::{Context, Object, Result};

use crate::auth::RequestContext;
use crate::error::AppError;
use crate::graphql::guards::IsAuthenticated;
use crate::graphql::types::AuthPayload;
use crate::graphql::{app, client};
use crate::services::account::passwords;

#[derive(Default)]
pub struct PasswordMutation;

#[Object]
impl PasswordMutation {
    /// Changes the password: every session ends and a fresh one is
    /// returned; API tokens stay. The user is mailed a notice.
    #[graphql(guard = "IsAuthenticated")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        old_password: String,
        new_password: String,
        confirm_password: String,
    ) -> Result<AuthPayload> {
        let rc = RequestContext::of(ctx)?;
        let who = rc.viewer.authenticated().ok_or(AppError::Unauthenticated)?;
        let client = client(ctx)?;
        let tokens = passwords::change(
            app(ctx)?,
            who,
            &old_password,
            &new_password,
            &confirm_password,
            &client,
        )
        .await?;
        Ok(tokens.into())
    }

    /// Mails a reset link if the address has an active account. Always true
    /// for a well-formed address.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> Result<bool> {
        passwords::request_reset(app(ctx)?, &email, &client(ctx)?).await?;
        Ok(true)
    }

    /// Sets a new password with the `uid` and `token` of a reset link; every
    /// session ends.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        uid: String,
        token: String,
        new_password: String,
        confirm_password: String,
    ) -> Result<bool> {
        passwords::reset(
            app(ctx)?,
            &uid,
            &token,
            &new_password,
            &confirm_password,
            &client(ctx)?,
        )
        .await?;
        Ok(true)
    }
}
