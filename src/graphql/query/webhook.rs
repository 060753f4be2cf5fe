use async_graphql::{Context, ID, Object, Result};

use crate::domain::webhook;
use crate::error::AppError;
use crate::graphql::app;
use crate::graphql::guards::IsStaff;
use crate::graphql::pagination::{Connection, connection, page_cost};
use crate::graphql::types::uuid_arg;
use crate::graphql::types::webhook::{WebhookDelivery, WebhookDeliveryFilter, WebhookEndpoint};
use crate::services::shared::pagination::Window;
use crate::services::webhooks::{deliveries, endpoints};

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Staff: every webhook endpoint, oldest first.
    #[graphql(guard = "IsStaff")]
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> Result<Vec<WebhookEndpoint>> {
        let all = endpoints::list(app(ctx)?).await?;
        Ok(all.into_iter().map(WebhookEndpoint).collect())
    }

    /// Staff: one endpoint, or null.
    #[graphql(guard = "IsStaff")]
    async fn webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<Option<WebhookEndpoint>> {
        let Ok(id) = uuid_arg(&id, "id") else {
            return Ok(None);
        };
        Ok(endpoints::find(app(ctx)?, id).await?.map(WebhookEndpoint))
    }

    /// Staff: an endpoint's deliveries, newest first.
    #[graphql(
        guard = "IsStaff",
        complexity = "page_cost(first.or(last).unwrap_or(20)) * child_complexity + 1"
    )]
    #[allow(
        clippy::too_many_arguments,
        reason = "the arguments are the contract's, one per GraphQL argument"
    )]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<WebhookDeliveryFilter>,
    ) -> Result<Connection<WebhookDelivery>> {
        let id = uuid_arg(&endpoint_id, "endpointId").map_err(|_| AppError::NotFound)?;
        let filter = filter.unwrap_or_default().into();
        let select = deliveries::filtered(app(ctx)?, id, filter).await?;
        let window = Window::new(first, after, last, before);
        let ordering = deliveries::ordering();
        Ok(connection(ctx, select, &ordering, window, WebhookDelivery).await?)
    }

    /// Staff: the event types an endpoint may subscribe to, and `webhook.ping`.
    #[graphql(guard = "IsStaff")]
    async fn webhook_event_types(&self) -> Vec<String> {
        webhook::catalogue()
    }
}
