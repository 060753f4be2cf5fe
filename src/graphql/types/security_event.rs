//! Security events as the API shows them (API.md §8.2), and their filter.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::security_event;

use super::User;
use crate::auth::RequestContext;
use crate::auth::assurance::Assurance;
use crate::domain;
use crate::error::AppError;
use crate::graphql::loaders::UserLoader;
use crate::graphql::pagination::ListItem;
use crate::services::shared::security_events::EventFilter;

// The domain's event types as a GraphQL enum (conversions both ways derived).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::SecurityEventType")]
pub enum SecurityEventType {
    AccountRegistered,
    AccountActivated,
    AccountDeactivated,
    AccountReactivated,
    AccountDeleted,
    LoginSucceeded,
    LoginFailed,
    LoginRateLimited,
    SecondFactorFailed,
    RecoveryCodeUsed,
    RefreshTokenReused,
    SessionRevoked,
    LoggedOut,
    Reauthenticated,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    TwoFactorEnabled,
    TwoFactorDisabled,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesGenerated,
    PasskeyAdded,
    PasskeyRemoved,
    ApiTokenCreated,
    ApiTokenRevoked,
    EmailChangeRequested,
    EmailChanged,
    ProfileUpdated,
    SecondFactorsReset,
    IdentityLinked,
    IdentityUnlinked,
    EmailSignInRequested,
    OrgCreated,
    OrgUpdated,
    OrgDeleted,
    OrgInvitationSent,
    OrgInvitationRevoked,
    OrgMemberJoined,
    OrgMemberRoleChanged,
    OrgMemberRemoved,
    OrgMemberLeft,
    ClaimsHookFailed,
    WebhookEndpointCreated,
    WebhookEndpointUpdated,
    WebhookEndpointDeleted,
    WebhookSecretRotated,
    OauthConsentGranted,
    OauthGrantRevoked,
    OauthCodeReused,
    OauthClientCreated,
    OauthClientUpdated,
    OauthClientSecretRotated,
    OauthClientDeleted,
}

#[derive(Clone)]
pub struct SecurityEvent(pub security_event::Model);

/// A user through the request's batching loader (a page of events costs
/// one query for its users and one for its actors).
pub async fn load_user(ctx: &Context<'_>, id: uuid::Uuid) -> async_graphql::Result<Option<User>> {
    let loader = ctx
        .data_opt::<DataLoader<UserLoader>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("user loader missing")))?;
    let user = loader
        .load_one(id)
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("loading users: {e}")))?;
    Ok(user.map(User::new))
}

impl SecurityEvent {
    /// Whether the viewer is the event's user, or staff.
    fn own(&self, ctx: &Context<'_>) -> bool {
        RequestContext::of(ctx)
            .ok()
            .and_then(|rc| rc.viewer.user())
            .is_some_and(|v| v.id == self.0.user_id || v.is_staff)
    }
}

impl ListItem for SecurityEvent {
    const EDGE: &'static str = "SecurityEventEdge";
    const CONNECTION: &'static str = "SecurityEventConnection";
    const PAGE: &'static str = "SecurityEventPage";
}

#[Object]
impl SecurityEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    #[graphql(name = "type")]
    async fn kind(&self) -> Result<SecurityEventType, AppError> {
        domain::SecurityEventType::parse(&self.0.kind)
            .map(Into::into)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("unknown stored event type")))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Where the request came from: to the event's own user and staff
    /// only (an organization's admins read its members' events).
    async fn ip(&self, ctx: &Context<'_>) -> Option<&str> {
        self.own(ctx).then_some(self.0.ip.as_deref()).flatten()
    }

    /// How a sign-in event signed in (API.md §9.1), e.g. `["email"]`.
    async fn amr(&self) -> Option<Vec<&'static str>> {
        self.0
            .amr
            .as_deref()
            .map(|amr| Assurance::from_stored(amr).amr())
    }

    /// The identity provider of a `fed` sign-in or an identity event.
    async fn provider(&self) -> Option<&str> {
        self.0.provider.as_deref()
    }

    async fn user_agent(&self, ctx: &Context<'_>) -> Option<&str> {
        self.own(ctx)
            .then_some(self.0.user_agent.as_deref())
            .flatten()
    }

    /// Who acted, when not the user themself (staff); else null.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(actor) = self.0.actor_id else {
            return Ok(None);
        };
        load_user(ctx, actor).await
    }

    /// The account the event belongs to; null once it is deleted (the
    /// kept `ACCOUNT_DELETED` row).
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.user_id).await
    }

    /// The organization of an `ORG_*` event (API.md §10); null for the
    /// others. Kept after the organization is deleted.
    async fn organization_id(&self) -> Option<ID> {
        self.0.organization_id.map(|id| ID(id.to_string()))
    }

    /// The session that acted, when there was one.
    async fn session_id(&self, ctx: &Context<'_>) -> Option<ID> {
        let id = self.0.session_id.filter(|_| self.own(ctx));
        id.map(|id| ID(id.to_string()))
    }
}

#[derive(InputObject, Default)]
pub struct SecurityEventFilter {
    pub types: Option<Vec<SecurityEventType>>,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
}

impl From<SecurityEventFilter> for EventFilter {
    fn from(f: SecurityEventFilter) -> Self {
        EventFilter {
            types: f
                .types
                .map(|types| types.into_iter().map(Into::into).collect()),
            after: f.after,
            before: f.before,
        }
    }
}
