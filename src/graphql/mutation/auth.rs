use async_graphql::{Context, ID, Object, Result};

use crate::graphql::guards::{IsAuthenticated, authenticated};
use crate::graphql::types::{
    ApiTokenCreated, AuthPayload, LoginInput, LoginResult, OtpChallenge, ReauthenticateOk,
    ReauthenticateResult, uuid_arg,
};
use crate::graphql::{app, client};
use crate::services::credentials::api_tokens;
use crate::services::credentials::logout;
use crate::services::credentials::{own_sessions, sessions};
use crate::services::factors::{otp, otp_resend};
use crate::services::signin::login::{self, LoginRequest};
use crate::services::signin::reauthentication::{self, Reauthenticated};

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Signs in by email or username: tokens, or a two-factor challenge.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<LoginResult> {
        let request = LoginRequest {
            email: input.email,
            username: input.username,
            password: input.password,
        };
        Ok(login::login(app(ctx)?, request, &client(ctx)?)
            .await?
            .into())
    }

    /// Finishes a two-factor sign-in with the mailed code.
    async fn verify_otp(
        &self,
        ctx: &Context<'_>,
        challenge_id: ID,
        code: String,
    ) -> Result<AuthPayload> {
        Ok(otp::verify(app(ctx)?, &challenge_id, &code, &client(ctx)?)
            .await?
            .into())
    }

    /// Proves again who the signed-in user is, making this session fresh
    /// for sensitive changes; with two-factor on, once `verifyOtp` takes
    /// the code of the challenge answered here.
    #[graphql(guard = "IsAuthenticated")]
    async fn reauthenticate(
        &self,
        ctx: &Context<'_>,
        password: String,
    ) -> Result<ReauthenticateResult> {
        let who = authenticated(ctx)?;
        Ok(
            match reauthentication::reauthenticate(app(ctx)?, who, &password, &client(ctx)?).await?
            {
                Reauthenticated::Fresh(at) => {
                    ReauthenticateResult::ReauthenticateOk(ReauthenticateOk {
                        authenticated_at: at,
                    })
                }
                Reauthenticated::Challenge(c) => ReauthenticateResult::OtpChallenge(c.into()),
            },
        )
    }

    /// Mails a new code for a challenge, replacing the old one.
    async fn resend_otp(&self, ctx: &Context<'_>, challenge_id: ID) -> Result<OtpChallenge> {
        Ok(otp_resend::resend(app(ctx)?, &challenge_id).await?.into())
    }

    /// Exchanges a refresh token for new tokens; the old one is used up.
    async fn refresh_token(&self, ctx: &Context<'_>, refresh_token: String) -> Result<AuthPayload> {
        Ok(sessions::refresh(app(ctx)?, &refresh_token, &client(ctx)?)
            .await?
            .into())
    }

    /// Ends this session (or API token), or with `allSessions` every session.
    #[graphql(guard = "IsAuthenticated")]
    async fn logout(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(false)")] all_sessions: Option<bool>,
    ) -> Result<bool> {
        let who = authenticated(ctx)?;
        logout::logout(app(ctx)?, who, all_sessions.unwrap_or(false), &client(ctx)?).await?;
        Ok(true)
    }

    /// Ends one of the viewer's sessions.
    #[graphql(guard = "IsAuthenticated")]
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let who = authenticated(ctx)?;
        own_sessions::revoke_one(app(ctx)?, who, uuid_arg(&id, "id")?, &client(ctx)?).await?;
        Ok(true)
    }

    /// Creates an API token; the token is shown only in this answer.
    #[graphql(guard = "IsAuthenticated")]
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        expires_in_days: Option<i32>,
    ) -> Result<ApiTokenCreated> {
        let who = authenticated(ctx)?;
        let created =
            api_tokens::create(app(ctx)?, who, &name, expires_in_days, &client(ctx)?).await?;
        Ok(ApiTokenCreated {
            token: created.token,
            api_token: created.row.into(),
        })
    }

    #[graphql(guard = "IsAuthenticated")]
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let who = authenticated(ctx)?;
        api_tokens::revoke(app(ctx)?, who, uuid_arg(&id, "id")?, &client(ctx)?).await?;
        Ok(true)
    }
}
