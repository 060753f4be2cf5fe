use async_graphql::{Context, ID, Object, Result};

use crate::auth::RequestContext;
use crate::graphql::app;
use crate::graphql::guards::IsAuthenticatedOrReadOnly;
use crate::graphql::pagination::{Connection, Page, connection, page as page_of, page_cost};
use crate::graphql::types::product::{wants_owner, with_owners};
use crate::graphql::types::{Product, ProductFilter, ProductOrder, uuid_arg};
use crate::services::resources::products::{self, Scope};
use crate::services::shared::pagination::Window;

#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    /// A product, or null if there is none with this id.
    #[graphql(guard = "IsAuthenticatedOrReadOnly")]
    async fn product(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Product>> {
        let id = uuid_arg(&id, "id")?;
        let scope = scope(ctx)?;
        Ok(products::find(app(ctx)?, scope, id)
            .await?
            .map(Product::new))
    }

    /// Relay cursor pagination (keyset): `first`/`after` or `last`/`before`.
    #[graphql(
        guard = "IsAuthenticatedOrReadOnly",
        complexity = "page_cost(first.or(last).unwrap_or(20)) * child_complexity + 1"
    )]
    #[allow(
        clippy::too_many_arguments,
        reason = "the arguments are the contract's, one per GraphQL argument"
    )]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ProductFilter>,
        order_by: Option<ProductOrder>,
    ) -> Result<Connection<Product>> {
        let select = products::filtered(
            app(ctx)?,
            scope(ctx)?,
            filter.unwrap_or_default().into_service()?,
        )?;
        let window = Window::new(first, after, last, before);
        let ordering = ProductOrder::ordering(order_by);
        let app = app(ctx)?;
        let mut found = connection(ctx, select, &ordering, window, Product::new).await?;
        let look = ctx.look_ahead();
        if wants_owner(look.field("edges").field("node")) || wants_owner(look.field("nodes")) {
            with_owners(app, found.nodes_mut()).await?;
        }
        Ok(found)
    }

    /// Page-number pagination: `page` is 1-based.
    #[graphql(
        guard = "IsAuthenticatedOrReadOnly",
        complexity = "page_cost(page_size) * child_complexity + 1"
    )]
    async fn products_page(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 1)] page: i32,
        #[graphql(default = 20)] page_size: i32,
        filter: Option<ProductFilter>,
        order_by: Option<ProductOrder>,
    ) -> Result<Page<Product>> {
        let select = products::filtered(
            app(ctx)?,
            scope(ctx)?,
            filter.unwrap_or_default().into_service()?,
        )?;
        let ordering = ProductOrder::ordering(order_by);
        let app = app(ctx)?;
        let mut found = page_of(ctx, select, &ordering, (page, page_size), Product::new).await?;
        if wants_owner(ctx.look_ahead().field("items")) {
            with_owners(app, found.items_mut()).await?;
        }
        Ok(found)
    }
}

/// Who is asking, as products see it.
fn scope(ctx: &Context<'_>) -> Result<Scope> {
    Ok(Scope::of(RequestContext::of(ctx)?.viewer.authenticated()))
}
