//! Staff read the OAuth provider's clients (API.md §9.3); never with an
//! API token.

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::app;
use crate::graphql::guards::{IsStaff, authenticated};
use crate::graphql::pagination::{Connection, connection, page_cost};
use crate::graphql::types::oauth_client::OAuthClient;
use crate::graphql::types::uuid_arg;
use crate::services::oauth::clients;
use crate::services::shared::pagination::Window;

#[derive(Default)]
pub struct OauthClientQuery;

#[Object]
impl OauthClientQuery {
    /// Staff: every client of the OAuth provider, newest first.
    #[graphql(
        name = "oauthClients",
        guard = "IsStaff",
        complexity = "page_cost(first.or(last).unwrap_or(20)) * child_complexity + 1"
    )]
    async fn oauth_clients(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<OAuthClient>> {
        let select = clients::listed(authenticated(ctx)?)?;
        let window = Window::new(first, after, last, before);
        let ordering = clients::ordering();
        Ok(connection(ctx, select, &ordering, window, OAuthClient).await?)
    }

    /// Staff: one client, or null.
    #[graphql(name = "oauthClient", guard = "IsStaff")]
    async fn oauth_client(&self, ctx: &Context<'_>, id: ID) -> Result<Option<OAuthClient>> {
        let id = uuid_arg(&id, "id")?;
        let found = clients::get(app(ctx)?, authenticated(ctx)?, id).await?;
        Ok(found.map(OAuthClient))
    }
}
