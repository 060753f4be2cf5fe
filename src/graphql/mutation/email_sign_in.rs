//! Passwordless sign-in by email and the exchange of a browser flow's code
//! (API.md §9.1, §9.2): token views, anyone may call them.

use async_graphql::{Context, Object, Result};

use crate::graphql::types::LoginResult;
use crate::graphql::{app, client};
use crate::services::signin::{email_sign_in, exchange};

#[derive(Default)]
pub struct EmailSignInMutation;

#[Object]
impl EmailSignInMutation {
    /// Mails a sign-in code (and a link, when there is a redirect target)
    /// to an address that may sign in. Always true for well-formed input,
    /// whatever the address is.
    async fn request_email_sign_in(
        &self,
        ctx: &Context<'_>,
        email: String,
        redirect_to: Option<String>,
        code_challenge: Option<String>,
    ) -> Result<bool> {
        email_sign_in::request(
            app(ctx)?,
            &email,
            redirect_to.as_deref(),
            code_challenge.as_deref(),
            &client(ctx)?,
        )
        .await?;
        Ok(true)
    }

    /// Signs in with the code of an email sign-in: what `login` answers.
    async fn sign_in_with_email_code(
        &self,
        ctx: &Context<'_>,
        email: String,
        code: String,
    ) -> Result<LoginResult> {
        let outcome =
            email_sign_in::sign_in_with_code(app(ctx)?, &email, &code, &client(ctx)?).await?;
        Ok(outcome.into())
    }

    /// Exchanges the one-time code a browser flow handed to the redirect
    /// target (with the app's PKCE verifier when it sent a challenge).
    async fn exchange_social_code(
        &self,
        ctx: &Context<'_>,
        code: String,
        code_verifier: Option<String>,
    ) -> Result<LoginResult> {
        let outcome =
            exchange::exchange(app(ctx)?, &code, code_verifier.as_deref(), &client(ctx)?).await?;
        Ok(outcome.into())
    }
}
