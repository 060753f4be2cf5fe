use async_graphql::{Context, Object, Result};

use crate::auth::RequestContext;
use crate::auth::viewer::Credential;
use crate::graphql::app;
use crate::graphql::guards::{IsAuthenticated, viewer};
use crate::graphql::types::{ApiToken, Session};
use crate::services::credentials::api_tokens;
use crate::services::credentials::own_sessions;

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The viewer's live sessions, newest first.
    #[graphql(guard = "IsAuthenticated")]
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<Session>> {
        let me = viewer(ctx)?;
        let current = RequestContext::of(ctx)?
            .viewer
            .authenticated()
            .map(|a| a.credential);
        let rows = own_sessions::list(app(ctx)?, me.id).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let is_current = current == Some(Credential::Session(row.id));
                Session::new(row, is_current)
            })
            .collect())
    }

    /// The viewer's API tokens that still work, newest first.
    #[graphql(guard = "IsAuthenticated")]
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        let me = viewer(ctx)?;
        let rows = api_tokens::list(app(ctx)?, me.id).await?;
        Ok(rows.into_iter().map(ApiToken::from).collect())
    }
}
