//! Sign-in payloads, sessions and API tokens.

use async_graphql::{ID, InputObject, SimpleObject, Union};
use chrono::{DateTime, Utc};
use entity::{api_token, session};

use super::User;
use super::organization::Organization;
use super::second_factor::SecondFactorMethod;
use crate::auth::assurance::Assurance;
use crate::domain::organization::Role;
use crate::services::credentials::sessions::Tokens;
use crate::services::factors::otp::ChallengeIssued;
use crate::services::organizations::orgs;
use crate::services::signin::login::LoginOutcome;

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuthPayload {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque and single-use: every `refreshToken` returns a new one.
    pub refresh_token: String,
    /// Always "Bearer".
    pub token_type: String,
    /// Lifetime of the access token, in seconds.
    pub expires_in: i32,
    pub user: User,
    /// The session's active organization and the viewer's role in it.
    #[graphql(skip)]
    pub organization: Option<(uuid::Uuid, Role)>,
}

#[async_graphql::ComplexObject]
impl AuthPayload {
    /// The session's active organization (API.md §10.4), or null.
    async fn active_organization(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Option<Organization>> {
        let Some((id, _)) = self.organization else {
            return Ok(None);
        };
        let user = self.user.id_uuid();
        let found = orgs::find(crate::graphql::app(ctx)?, user, id).await?;
        Ok(found.map(Organization::seen))
    }
}

impl From<Tokens> for AuthPayload {
    fn from(t: Tokens) -> Self {
        AuthPayload {
            access_token: t.access.token,
            refresh_token: t.refresh_token,
            token_type: "Bearer".into(),
            expires_in: i32::try_from(t.access.expires_in).unwrap_or(i32::MAX),
            user: User::to_owner(t.user),
            organization: t.organization,
        }
    }
}

#[derive(SimpleObject)]
pub struct OtpChallenge {
    pub challenge_id: ID,
    pub expires_at: DateTime<Utc>,
    /// Where the code went, masked: e.g. "m***@example.com" ("" for TOTP).
    pub sent_to: String,
    /// Where the code comes from: the mail, or an authenticator app.
    pub method: SecondFactorMethod,
}

impl From<ChallengeIssued> for OtpChallenge {
    fn from(c: ChallengeIssued) -> Self {
        OtpChallenge {
            challenge_id: ID(c.challenge_id),
            expires_at: c.expires_at,
            sent_to: c.sent_to,
            method: c.method.into(),
        }
    }
}

#[derive(Union)]
pub enum LoginResult {
    AuthPayload(Box<AuthPayload>),
    OtpChallenge(OtpChallenge),
}

impl From<LoginOutcome> for LoginResult {
    fn from(outcome: LoginOutcome) -> LoginResult {
        match outcome {
            LoginOutcome::Signed(tokens) => LoginResult::AuthPayload(Box::new((*tokens).into())),
            LoginOutcome::Challenge(challenge) => LoginResult::OtpChallenge(challenge.into()),
        }
    }
}

/// The session is fresh again (API.md §8.1).
#[derive(SimpleObject)]
pub struct ReauthenticateOk {
    pub authenticated_at: DateTime<Utc>,
}

/// Fresh at once, or (with two-factor on) once `verifyOtp` takes the code.
#[derive(Union)]
pub enum ReauthenticateResult {
    ReauthenticateOk(ReauthenticateOk),
    OtpChallenge(OtpChallenge),
}

/// Exactly one of `email` and `username`.
#[derive(InputObject)]
pub struct LoginInput {
    pub email: Option<String>,
    pub username: Option<String>,
    pub password: String,
}

/// One sign-in (a refresh-token family).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Session {
    pub id: ID,
    /// Whether this request is made with this session.
    pub current: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// When the user last proved who they are in this session: sensitive
    /// changes need it within `PRIVILEGED_SESSION_TTL`.
    pub authenticated_at: DateTime<Utc>,
    /// `aal1` or `aal2` (API.md §8.8): what the sign-in steps proved.
    pub aal: String,
    /// How the user proved who they are: `pwd`, `otp`, `rec`, `hwk`,
    /// `email`, `fed`, and `mfa` when two factors made it `aal2`.
    pub amr: Vec<String>,
    /// The provider of a `fed` sign-in (API.md §9.1); null for others.
    pub provider: Option<String>,
    /// The client of an OAuth session (API.md §9.3).
    #[graphql(skip)]
    pub oauth_client_id: Option<uuid::Uuid>,
}

#[async_graphql::ComplexObject]
impl Session {
    /// The client of an OAuth session; null for others.
    #[graphql(name = "oauthClient")]
    async fn oauth_client(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Option<crate::graphql::types::oauth::OAuthClientInfo>> {
        let Some(id) = self.oauth_client_id else {
            return Ok(None);
        };
        let app = crate::graphql::app(ctx)?;
        let found = crate::services::oauth::clients::find(app, id).await?;
        Ok(found.as_ref().map(Into::into))
    }
}

impl Session {
    pub fn new(row: session::Model, current: bool) -> Self {
        let assurance = Assurance::from_stored(&row.amr);
        Session {
            id: ID(row.id.to_string()),
            current,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            user_agent: row.user_agent,
            ip: row.ip,
            authenticated_at: row.authenticated_at,
            aal: assurance.aal().to_owned(),
            amr: assurance.amr().into_iter().map(str::to_owned).collect(),
            provider: row.provider,
            oauth_client_id: row.oauth_client_id,
        }
    }
}

#[derive(SimpleObject)]
pub struct ApiToken {
    pub id: ID,
    pub name: String,
    /// The token's first characters, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<api_token::Model> for ApiToken {
    fn from(row: api_token::Model) -> Self {
        ApiToken {
            id: ID(row.id.to_string()),
            name: row.name,
            prefix: row.prefix,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct ApiTokenCreated {
    /// Shown once: only a digest is kept.
    pub token: String,
    pub api_token: ApiToken,
}
