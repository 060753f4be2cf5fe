//! A user's decisions at the provider (API.md §9.3): an authorization
//! request decided by the application's own page (headless mode), and a
//! remembered consent revoked.

use async_graphql::{Context, ID, Object, Result};

use crate::error::AppError;
use crate::graphql::guards::{IsAuthenticated, authenticated};
use crate::graphql::types::oauth::OAuthDecision;
use crate::graphql::types::uuid_arg;
use crate::graphql::{app, client};
use crate::services::oauth::{grants, headless};

#[derive(Default)]
pub struct OauthMutation;

#[Object]
impl OauthMutation {
    /// Approves (for `scopes`, each requested; absent: all) or denies the
    /// pending request `id` as the viewer; answers where the browser goes.
    #[graphql(guard = "IsAuthenticated", name = "decideOAuthAuthorization")]
    async fn decide_oauth_authorization(
        &self,
        ctx: &Context<'_>,
        id: ID,
        approve: bool,
        scopes: Option<Vec<String>>,
    ) -> Result<OAuthDecision> {
        let who = authenticated(ctx)?;
        let app = app(ctx)?;
        let redirect_to =
            headless::decide(app, who, id.as_str(), approve, scopes, &client(ctx)?).await?;
        Ok(OAuthDecision { redirect_to })
    }

    /// Deletes one of the viewer's grants and ends its OAuth sessions.
    #[graphql(guard = "IsAuthenticated", name = "revokeOAuthGrant")]
    async fn revoke_oauth_grant(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let who = authenticated(ctx)?;
        crate::services::shared::fresh::require_session(who)?;
        let id = uuid_arg(&id, "id")?;
        grants::revoke(app(ctx)?, &who.user, id, &client(ctx)?)
            .await
            .map_err(|e| match e {
                AppError::NotFound => AppError::NotFound,
                e => e,
            })?;
        Ok(true)
    }
}
