//! Second factors (API.md §8.4): the emailed code, authenticator apps and
//! recovery codes. The app's and the codes' changes need a fresh session.

use async_graphql::{Context, Object, Result};

use crate::graphql::guards::{IsAuthenticated, authenticated};
use crate::graphql::types::{RecoveryCodes, TotpEnrollment, User};
use crate::graphql::{app, client};
use crate::services::factors::factor_changes;
use crate::services::factors::recovery_codes;
use crate::services::factors::totp;

#[derive(Default)]
pub struct SecondFactorMutation;

#[Object]
impl SecondFactorMutation {
    /// Turns on the emailed sign-in code (password checked).
    #[graphql(guard = "IsAuthenticated")]
    async fn enable_two_factor(&self, ctx: &Context<'_>, password: String) -> Result<User> {
        let who = authenticated(ctx)?;
        let updated =
            factor_changes::set_email_code(app(ctx)?, who, &password, true, &client(ctx)?).await?;
        Ok(User::new(updated))
    }

    /// Turns off every second factor: the emailed code, the authenticator
    /// app, and the recovery codes (password checked).
    #[graphql(guard = "IsAuthenticated")]
    async fn disable_two_factor(&self, ctx: &Context<'_>, password: String) -> Result<User> {
        let who = authenticated(ctx)?;
        let updated =
            factor_changes::set_email_code(app(ctx)?, who, &password, false, &client(ctx)?).await?;
        Ok(User::new(updated))
    }

    /// Starts adding an authenticator app; nothing changes until
    /// `confirmTotpEnrollment` gets one of its codes.
    #[graphql(guard = "IsAuthenticated")]
    async fn begin_totp_enrollment(&self, ctx: &Context<'_>) -> Result<TotpEnrollment> {
        Ok(totp::begin_enrollment(app(ctx)?, authenticated(ctx)?)
            .await?
            .into())
    }

    /// Turns the app on with one of its codes; answers the first recovery
    /// codes (shown only here).
    #[graphql(guard = "IsAuthenticated")]
    async fn confirm_totp_enrollment(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> Result<RecoveryCodes> {
        let codes =
            totp::confirm_enrollment(app(ctx)?, authenticated(ctx)?, &code, &client(ctx)?).await?;
        Ok(RecoveryCodes { codes })
    }

    /// Turns the authenticator app off (the emailed code stays as it was).
    #[graphql(guard = "IsAuthenticated")]
    async fn disable_totp(&self, ctx: &Context<'_>) -> Result<User> {
        let updated = totp::disable(app(ctx)?, authenticated(ctx)?, &client(ctx)?).await?;
        Ok(User::new(updated))
    }

    /// A new set of recovery codes; the old ones stop working.
    #[graphql(guard = "IsAuthenticated")]
    async fn regenerate_recovery_codes(&self, ctx: &Context<'_>) -> Result<RecoveryCodes> {
        let codes =
            recovery_codes::regenerate(app(ctx)?, authenticated(ctx)?, &client(ctx)?).await?;
        Ok(RecoveryCodes { codes })
    }
}
