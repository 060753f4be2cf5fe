use async_graphql::{Context, ID, Object, Result};

use crate::error::AppError;
use crate::graphql::guards::{IsStaff, authenticated};
use crate::graphql::types::uuid_arg;
use crate::graphql::types::webhook::{
    CreateWebhookEndpointInput, UpdateWebhookEndpointInput, WebhookDelivery, WebhookEndpoint,
    WebhookEndpointSecret,
};
use crate::graphql::{app, client};
use crate::services::webhooks::{deliveries, endpoints};

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Staff, fresh: a new endpoint and its secret (shown only here).
    #[graphql(guard = "IsStaff")]
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<WebhookEndpointSecret> {
        let who = authenticated(ctx)?;
        let (endpoint, secret) =
            endpoints::create(app(ctx)?, who, input.into(), &client(ctx)?).await?;
        Ok(WebhookEndpointSecret {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// Staff, fresh: changes the fields given.
    #[graphql(guard = "IsStaff")]
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookEndpointInput,
    ) -> Result<WebhookEndpoint> {
        let id = uuid_arg(&id, "id").map_err(|_| AppError::NotFound)?;
        let who = authenticated(ctx)?;
        let endpoint = endpoints::update(app(ctx)?, who, id, input.into(), &client(ctx)?).await?;
        Ok(WebhookEndpoint(endpoint))
    }

    /// Staff, fresh: a new secret; the old one signs too for `overlapSeconds`.
    #[graphql(guard = "IsStaff")]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = 86400)] overlap_seconds: Option<i32>,
    ) -> Result<WebhookEndpointSecret> {
        let id = uuid_arg(&id, "id").map_err(|_| AppError::NotFound)?;
        let who = authenticated(ctx)?;
        let (endpoint, secret) = endpoints::rotate(
            app(ctx)?,
            who,
            id,
            overlap_seconds.unwrap_or(86400).into(),
            &client(ctx)?,
        )
        .await?;
        Ok(WebhookEndpointSecret {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// Staff: deletes an endpoint and its deliveries.
    #[graphql(guard = "IsStaff")]
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = uuid_arg(&id, "id").map_err(|_| AppError::NotFound)?;
        endpoints::delete(app(ctx)?, authenticated(ctx)?, id, &client(ctx)?).await?;
        Ok(true)
    }

    /// Staff: queues a `webhook.ping` to the endpoint.
    #[graphql(guard = "IsStaff")]
    async fn ping_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        let id = uuid_arg(&id, "id").map_err(|_| AppError::NotFound)?;
        Ok(WebhookDelivery(deliveries::ping(app(ctx)?, id).await?))
    }

    /// Staff: attempts the delivery again now, with more attempts.
    #[graphql(guard = "IsStaff")]
    async fn redeliver_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        let id = uuid_arg(&id, "id").map_err(|_| AppError::NotFound)?;
        Ok(WebhookDelivery(deliveries::redeliver(app(ctx)?, id).await?))
    }
}
