use async_graphql::{Context, ID, Object, Result};

use crate::graphql::app;
use crate::graphql::guards::{IsAuthenticatedOrReadOnly, authenticated};
use crate::graphql::types::{CreateProductInput, Product, UpdateProductInput, uuid_arg};
use crate::services::resources::products::{self, Scope};

#[derive(Default)]
pub struct ProductMutation;

#[Object]
impl ProductMutation {
    #[graphql(guard = "IsAuthenticatedOrReadOnly")]
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> Result<Product> {
        let me = authenticated(ctx)?;
        Ok(Product::new(
            products::create(app(ctx)?, me, input.into()).await?,
        ))
    }

    /// The owner, staff, or an OWNER/ADMIN of its organization (checked in the service).
    #[graphql(guard = "IsAuthenticatedOrReadOnly")]
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProductInput,
    ) -> Result<Product> {
        let me = Scope::of(Some(authenticated(ctx)?));
        let id = uuid_arg(&id, "id")?;
        Ok(Product::new(
            products::update(app(ctx)?, me, id, input.into()).await?,
        ))
    }

    /// The owner or staff.
    #[graphql(guard = "IsAuthenticatedOrReadOnly")]
    async fn delete_product(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let me = Scope::of(Some(authenticated(ctx)?));
        products::delete(app(ctx)?, me, uuid_arg(&id, "id")?).await?;
        Ok(true)
    }
}
