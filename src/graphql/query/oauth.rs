//! What a signed-in user asks of the provider (API.md §9.3): a pending
//! authorization (headless mode) and their remembered consents.

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::app;
use crate::graphql::guards::{IsAuthenticated, authenticated};
use crate::graphql::types::oauth::{OAuthAuthorization, OAuthGrant};
use crate::services::oauth::{authorizations, grants};
use crate::services::shared::fresh::require_session;

#[derive(Default)]
pub struct OauthQuery;

#[Object]
impl OauthQuery {
    /// The pending authorization `id` names; null when unknown, expired or
    /// decided, and while the provider is off. Not with an API token.
    #[graphql(guard = "IsAuthenticated", name = "oauthAuthorization")]
    async fn oauth_authorization(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<OAuthAuthorization>> {
        let who = authenticated(ctx)?;
        require_session(who)?;
        let app = app(ctx)?;
        if !app.settings.oauth.enabled {
            return Ok(None);
        }
        let Some(pending) = authorizations::find_pending(app, id.as_str()).await? else {
            return Ok(None);
        };
        let consent = authorizations::needs_consent(app, &pending, who.user.id).await?;
        Ok(Some(OAuthAuthorization::new(
            id.0.clone(),
            &pending,
            consent,
        )))
    }

    /// The viewer's remembered consents, newest first.
    #[graphql(guard = "IsAuthenticated", name = "oauthGrants")]
    async fn oauth_grants(&self, ctx: &Context<'_>) -> Result<Vec<OAuthGrant>> {
        let who = authenticated(ctx)?;
        let found = grants::list(app(ctx)?, who.user.id).await?;
        Ok(found
            .into_iter()
            .map(|(g, c)| OAuthGrant::new(g, &c))
            .collect())
    }
}
