//! Products as the API shows them, and their inputs, filter and ordering.

use async_graphql::dataloader::DataLoader;
use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Lookahead, Object};
use chrono::{DateTime, Utc};
use entity::{product, user};
use uuid::Uuid;

use super::{User, uuid_arg};
use crate::error::AppError;
use crate::graphql::loaders::{UserLoader, users_by_id};
use crate::graphql::pagination::{ListItem, OrderDirection};
use crate::services::AppContext;
use crate::services::resources::products::{self, ProductInput, ProductSort};

/// A product, and its owner when the page it is on fetched the owners of
/// all its products at once (`with_owners`).
#[derive(Clone)]
pub struct Product(pub product::Model, Option<Arc<user::Model>>);

impl Product {
    pub fn new(model: product::Model) -> Product {
        Product(model, None)
    }
}

/// Whether `node` (a product's place in the query) selects its owner.
pub fn wants_owner(node: Lookahead<'_>) -> bool {
    node.field("owner").exists()
}

/// Fetches the owners of `products` in one query and gives each product
/// its own. A page whose owners are asked for thus costs one owner query
/// without a DataLoader (a task, a timer and a channel per product: a
/// tenth of the CPU of a page of twenty).
pub async fn with_owners<'a>(
    app: &AppContext,
    products: impl Iterator<Item = &'a mut Product>,
) -> Result<(), AppError> {
    let products: Vec<&mut Product> = products.collect();
    let ids = products.iter().map(|p| p.0.owner_id).collect();
    let owners = users_by_id(app, ids).await?;
    for product in products {
        product.1 = owners.get(&product.0.owner_id).cloned();
    }
    Ok(())
}

impl ListItem for Product {
    const EDGE: &'static str = "ProductEdge";
    const CONNECTION: &'static str = "ProductConnection";
    const PAGE: &'static str = "ProductPage";
}

#[Object]
impl Product {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn price_cents(&self) -> i32 {
        self.0.price_cents
    }
    async fn in_stock(&self) -> bool {
        self.0.in_stock
    }
    /// Batched per request: a page of products costs one owner query.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        if let Some(owner) = &self.1 {
            return Ok(User::new(owner.as_ref().clone()));
        }
        let loader = ctx
            .data_opt::<DataLoader<UserLoader>>()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("user loader missing")))?;
        let owner = loader
            .load_one(self.0.owner_id)
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!("loading owners: {e}")))?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("product without owner")))?;
        Ok(User::new(owner))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Null for a personal product (API.md §10.5).
    async fn organization_id(&self) -> Option<ID> {
        self.0.organization_id.map(|id| ID(id.to_string()))
    }
}

#[derive(InputObject)]
pub struct CreateProductInput {
    pub name: String,
    #[graphql(default_with = "Some(String::new())")]
    pub description: Option<String>,
    pub price_cents: i32,
    #[graphql(default_with = "Some(true)")]
    pub in_stock: Option<bool>,
}

impl From<CreateProductInput> for ProductInput {
    fn from(i: CreateProductInput) -> Self {
        ProductInput {
            name: Some(i.name),
            description: i.description,
            price_cents: Some(i.price_cents),
            in_stock: i.in_stock,
        }
    }
}

/// Omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProductInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_cents: Option<i32>,
    pub in_stock: Option<bool>,
}

impl From<UpdateProductInput> for ProductInput {
    fn from(i: UpdateProductInput) -> Self {
        ProductInput {
            name: i.name,
            description: i.description,
            price_cents: i.price_cents,
            in_stock: i.in_stock,
        }
    }
}

#[derive(InputObject, Default)]
pub struct ProductFilter {
    /// Case-insensitive substring of the name or the description.
    pub search: Option<String>,
    pub min_price_cents: Option<i32>,
    pub max_price_cents: Option<i32>,
    pub in_stock: Option<bool>,
    pub owner_id: Option<ID>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Only this organization's products: the active one's, else none.
    pub organization_id: Option<ID>,
}

impl ProductFilter {
    pub fn into_service(self) -> Result<products::ProductFilter, AppError> {
        Ok(products::ProductFilter {
            search: self.search,
            min_price_cents: self.min_price_cents,
            max_price_cents: self.max_price_cents,
            in_stock: self.in_stock,
            owner_id: self
                .owner_id
                .as_ref()
                .map(|id| uuid_arg(id, "ownerId"))
                .transpose()?,
            created_after: self.created_after,
            created_before: self.created_before,
            // Never an error (API.md §10.5): a malformed id matches nothing.
            organization_id: self
                .organization_id
                .map(|id| id.parse().unwrap_or(Uuid::nil())),
        })
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProductOrderField {
    CreatedAt,
    Name,
    Price,
}

#[derive(InputObject)]
pub struct ProductOrder {
    #[graphql(default_with = "ProductOrderField::CreatedAt")]
    pub field: ProductOrderField,
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

impl ProductOrder {
    pub fn ordering(
        order: Option<ProductOrder>,
    ) -> crate::services::shared::pagination::Ordering<product::Entity> {
        let (field, direction) = order
            .map_or((ProductOrderField::CreatedAt, OrderDirection::Desc), |o| {
                (o.field, o.direction)
            });
        let sort = match field {
            ProductOrderField::CreatedAt => ProductSort::CreatedAt,
            ProductOrderField::Name => ProductSort::Name,
            ProductOrderField::Price => ProductSort::Price,
        };
        products::ordering(sort, direction.is_desc())
    }
}
