//! Products: anyone reads, signed-in users create, the owner or staff change
//! and delete (DRF's IsAuthenticatedOrReadOnly plus an object-level check).
//! An organization product (API.md §10.5) exists only for requests whose
//! active organization is its own (and for staff, by id): to everyone else
//! it is `null`, in no listing, and `NOT_FOUND`.

use chrono::{DateTime, Utc};
use entity::product::{self, Column};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::auth::viewer::Authenticated;
use crate::domain::organization::Role;

use crate::db::now;
use crate::db::text_search::{self, TextIndex};
use crate::domain::{FieldErrors, fold};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::organizations::access::locked_org;
use crate::services::shared::pagination::{Ordering, SortKey};
use crate::services::shared::search::{nfkc_len, search_term};

const NAME_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 10_000;

#[derive(Debug, Default)]
pub struct ProductInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_cents: Option<i32>,
    pub in_stock: Option<bool>,
}

#[derive(Debug, Default)]
pub struct ProductFilter {
    pub search: Option<String>,
    pub min_price_cents: Option<i32>,
    pub max_price_cents: Option<i32>,
    pub in_stock: Option<bool>,
    pub owner_id: Option<Uuid>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Only this organization's products: none unless it is the active one.
    pub organization_id: Option<Uuid>,
}

/// Who is looking, as far as products care: the viewer, whether staff,
/// and the session's active organization with the viewer's role in it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scope {
    pub viewer: Option<Uuid>,
    pub staff: bool,
    pub organization: Option<(Uuid, Role)>,
}

impl Scope {
    pub fn of(who: Option<&Authenticated>) -> Scope {
        who.map_or_else(Scope::default, |w| Scope {
            viewer: Some(w.user.id),
            staff: w.user.is_staff,
            organization: w.organization,
        })
    }

    fn sees(&self, product: &product::Model) -> bool {
        match product.organization_id {
            None => true,
            Some(org) => self.staff || self.organization.is_some_and(|(o, _)| o == org),
        }
    }

    /// DRF's object permission, and §10.5's: the owner, staff, or an
    /// OWNER/ADMIN of the product's (active) organization.
    fn may_change(&self, product: &product::Model) -> bool {
        let managing = match (product.organization_id, self.organization) {
            (Some(org), Some((active, role))) => org == active && role.manages(),
            _ => false,
        };
        self.staff || self.viewer == Some(product.owner_id) || managing
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProductSort {
    CreatedAt,
    Name,
    Price,
}

pub fn ordering(sort: ProductSort, descending: bool) -> Ordering<product::Entity> {
    let (name, column, key): (_, _, fn(&product::Model) -> SortKey) = match sort {
        ProductSort::CreatedAt => ("CREATED_AT", Column::CreatedAt, |p| {
            SortKey::time(p.created_at)
        }),
        ProductSort::Name => ("NAME", Column::NameFold, |p| {
            SortKey::Text(p.name_fold.clone())
        }),
        ProductSort::Price => ("PRICE", Column::PriceCents, |p| {
            SortKey::Int(p.price_cents.into())
        }),
    };
    Ordering {
        name,
        column,
        id_column: Column::Id,
        descending,
        key,
        id: |p| p.id,
    }
}

fn check_name(errors: &mut FieldErrors, name: &str) -> String {
    let name = name.trim();
    // Measured after NFKC (API.md §8.9): a name NFKC makes longer than the
    // column is the caller's error on `name`, never the database's.
    let len = if name.len() > NAME_MAX * 4 {
        usize::MAX
    } else {
        nfkc_len(name)
    };
    if len == 0 || len > NAME_MAX {
        errors.add("name", format!("must be 1 to {NAME_MAX} characters"));
    } else if name.chars().any(char::is_control) {
        errors.add("name", "must not contain control characters");
    }
    name.to_owned()
}

/// What a search reads of a description: its fold, cut at
/// `DESCRIPTION_MAX` characters, so one row costs a bounded `LIKE` however
/// far NFKC expands what was typed (SECURITY.md rule 10). Text past the
/// cut (only text NFKC expands can reach it) is not found by a search.
fn search_text(description: &str) -> String {
    fold(description).chars().take(DESCRIPTION_MAX).collect()
}

fn check_description(errors: &mut FieldErrors, description: &str) -> String {
    if description.chars().count() > DESCRIPTION_MAX {
        errors.add(
            "description",
            format!("must be at most {DESCRIPTION_MAX} characters"),
        );
    }
    description.trim().to_owned()
}

fn check_price(errors: &mut FieldErrors, price: i32) -> i32 {
    if price < 0 {
        errors.add("priceCents", "must not be negative");
    }
    price
}

#[tracing::instrument(skip_all)]
pub async fn create(
    app: &AppContext,
    owner: &Authenticated,
    input: ProductInput,
) -> AppResult<product::Model> {
    let mut errors = FieldErrors::new();
    let name = check_name(&mut errors, input.name.as_deref().unwrap_or_default());
    let description = check_description(
        &mut errors,
        input.description.as_deref().unwrap_or_default(),
    );
    let price = check_price(&mut errors, input.price_cents.unwrap_or_default());
    errors.into_result()?;
    let now = now();
    let (name_fold, description_fold) = (fold(&name), search_text(&description));
    let texts = [name_fold.as_str(), description_fold.as_str()];
    let row = product::ActiveModel {
        id: Set(Uuid::now_v7()),
        owner_id: Set(owner.user.id),
        organization_id: Set(owner.organization.map(|(id, _)| id)),
        name_fold: Set(name_fold.clone()),
        name: Set(name),
        description_fold: Set(description_fold.clone()),
        description: Set(description),
        price_cents: Set(price),
        in_stock: Set(input.in_stock.unwrap_or(true)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let Some((org, _)) = owner.organization else {
        return Ok(text_search::insert_searchable(&app.db, row, &SEARCHED, &texts).await?);
    };
    // Under the organization's lock, as its deletion and every membership
    // change take it: never a product in an organization that is gone, or
    // by someone no longer in it.
    let txn = app.db.write().await?;
    locked_org(&txn, org, owner.user.id).await?;
    let made = row.insert(&txn).await?;
    text_search::index_inserted(&txn, &SEARCHED, &texts).await?;
    txn.commit().await?;
    Ok(made)
}

/// The product, if `scope` may see it.
#[tracing::instrument(skip_all)]
pub async fn find(app: &AppContext, scope: Scope, id: Uuid) -> AppResult<Option<product::Model>> {
    let found = app.db.read().one(product::Entity::find_by_id(id)).await?;
    Ok(found.filter(|p| scope.sees(p)))
}

/// A product `scope` sees and may change: else `NOT_FOUND` or `FORBIDDEN`.
async fn changeable(app: &AppContext, scope: Scope, id: Uuid) -> AppResult<product::Model> {
    let existing = find(app, scope, id).await?.ok_or(AppError::NotFound)?;
    match scope.may_change(&existing) {
        true => Ok(existing),
        false => Err(AppError::Forbidden),
    }
}

#[tracing::instrument(skip_all)]
pub async fn update(
    app: &AppContext,
    scope: Scope,
    id: Uuid,
    input: ProductInput,
) -> AppResult<product::Model> {
    let existing = changeable(app, scope, id).await?;
    let mut errors = FieldErrors::new();
    let mut active: product::ActiveModel = existing.into();
    if let Some(name) = input.name.as_deref() {
        let name = check_name(&mut errors, name);
        active.name_fold = Set(fold(&name));
        active.name = Set(name);
    }
    if let Some(description) = input.description.as_deref() {
        let description = check_description(&mut errors, description);
        active.description_fold = Set(search_text(&description));
        active.description = Set(description);
    }
    if let Some(price) = input.price_cents {
        active.price_cents = Set(check_price(&mut errors, price));
    }
    if let Some(in_stock) = input.in_stock {
        active.in_stock = Set(in_stock);
    }
    errors.into_result()?;
    active.updated_at = Set(now());
    Ok(active.update(app.db.alone()).await?)
}

#[tracing::instrument(skip_all)]
pub async fn delete(app: &AppContext, scope: Scope, id: Uuid) -> AppResult<()> {
    changeable(app, scope, id).await?;
    product::Entity::delete_by_id(id)
        .exec(app.db.alone())
        .await?;
    Ok(())
}

/// What a product search reads: its folded name and description.
const SEARCHED: TextIndex<Column> = TextIndex {
    table: "products",
    fts: "products_search",
    columns: &[Column::NameFold, Column::DescriptionFold],
};

/// The products a filter selects that `scope` sees, unordered: personal
/// ones, and the active organization's.
pub fn filtered(
    app: &AppContext,
    scope: Scope,
    filter: ProductFilter,
) -> AppResult<Select<product::Entity>> {
    let active = scope.organization.map(|(id, _)| id);
    let mut select = product::Entity::find().filter(match active {
        Some(org) => Column::OrganizationId
            .is_null()
            .or(Column::OrganizationId.eq(org)),
        None => Column::OrganizationId.is_null(),
    });
    if let Some(org) = filter.organization_id {
        // Another organization's id reveals nothing: simply no rows.
        let wanted = active.filter(|a| *a == org);
        select = select.filter(match wanted {
            Some(org) => Column::OrganizationId.eq(org),
            None => Expr::value(false),
        });
    }
    if let Some(term) = search_term(filter.search.as_deref())? {
        select = select.filter(text_search::contains(&app.db, &SEARCHED, &term));
    }
    if let Some(min) = filter.min_price_cents {
        select = select.filter(Column::PriceCents.gte(min));
    }
    if let Some(max) = filter.max_price_cents {
        select = select.filter(Column::PriceCents.lte(max));
    }
    if let Some(in_stock) = filter.in_stock {
        select = select.filter(Column::InStock.eq(in_stock));
    }
    if let Some(owner) = filter.owner_id {
        select = select.filter(Column::OwnerId.eq(owner));
    }
    if let Some(after) = filter.created_after {
        select = select.filter(Column::CreatedAt.gt(after));
    }
    if let Some(before) = filter.created_before {
        select = select.filter(Column::CreatedAt.lt(before));
    }
    Ok(select)
}
