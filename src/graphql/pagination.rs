//! The GraphQL shapes of every list: a Relay connection and a numbered page,
//! generic over the node type. A new entity's lists need an `impl ListItem`
//! naming its types, and the two service calls in `services::pagination`.

use std::borrow::Cow;

use async_graphql::{Context, Enum, Object, OutputType, TypeName};
use tokio::sync::OnceCell;

use sea_orm::{EntityTrait, Select};

use crate::error::AppError;
use crate::graphql::app;
use crate::services::AppContext;
use crate::services::shared::pagination::{
    self, Counter, Cursors, NumberedPage, Ordering, Position, Slice, Window,
};

/// What one item of a list costs times: its page size. An out-of-range size
/// counts as 1 so that it reaches the resolver and is answered
/// `BAD_USER_INPUT` rather than "too complex".
pub fn page_cost(size: i32) -> usize {
    if (1..=crate::services::shared::pagination::MAX_PAGE_SIZE).contains(&size) {
        size as usize
    } else {
        1
    }
}

/// A type that appears in lists, with the names of its list types.
pub trait ListItem: OutputType + Clone {
    const EDGE: &'static str;
    const CONNECTION: &'static str;
    const PAGE: &'static str;
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrderDirection {
    Asc,
    Desc,
}

impl OrderDirection {
    pub fn is_desc(self) -> bool {
        self == OrderDirection::Desc
    }
}

/// Signs a cursor when a client selects it (see `Position`).
fn cursor(ctx: &Context<'_>, position: &Position) -> Result<String, AppError> {
    let secret = app(ctx)?.settings.secret_bytes();
    Ok(Cursors { secret }.encode(position))
}

pub struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start: Option<Position>,
    end: Option<Position>,
}

#[Object]
impl PageInfo {
    async fn has_next_page(&self) -> bool {
        self.has_next_page
    }
    async fn has_previous_page(&self) -> bool {
        self.has_previous_page
    }
    async fn start_cursor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.start.as_ref().map(|p| cursor(ctx, p)).transpose()?)
    }
    async fn end_cursor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.end.as_ref().map(|p| cursor(ctx, p)).transpose()?)
    }
}

pub struct Edge<N> {
    position: Position,
    node: N,
}

#[Object(name_type)]
impl<N: ListItem> Edge<N> {
    /// Opaque; pass it as `after` or `before`.
    async fn cursor(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(cursor(ctx, &self.position)?)
    }
    async fn node(&self) -> &N {
        &self.node
    }
}

impl<N: ListItem> TypeName for Edge<N> {
    fn type_name() -> Cow<'static, str> {
        N::EDGE.into()
    }
}

/// Counts once, and only if asked.
pub struct LazyTotal {
    counter: Counter,
    value: OnceCell<i32>,
}

impl LazyTotal {
    /// `counted`: the total if it was counted already.
    fn new(counter: Counter, counted: Option<u64>) -> Self {
        LazyTotal {
            counter,
            value: OnceCell::new_with(counted.map(clamp)),
        }
    }

    async fn get(&self) -> Result<i32, AppError> {
        self.value
            .get_or_try_init(|| async { Ok::<i32, AppError>(clamp(self.counter.count().await?)) })
            .await
            .copied()
    }
}

fn clamp(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub struct Connection<N> {
    edges: Vec<Edge<N>>,
    page_info: PageInfo,
    total: LazyTotal,
}

impl<N: ListItem> Connection<N> {
    pub fn new<M>(slice: Slice<M>, node: impl Fn(M) -> N, total: LazyTotal) -> Self {
        let edges: Vec<Edge<N>> = slice
            .rows
            .into_iter()
            .map(|(position, row)| Edge {
                position,
                node: node(row),
            })
            .collect();
        let page_info = PageInfo {
            has_next_page: slice.has_next_page,
            has_previous_page: slice.has_previous_page,
            start: edges.first().map(|e| e.position.clone()),
            end: edges.last().map(|e| e.position.clone()),
        };
        Connection {
            edges,
            page_info,
            total,
        }
    }

    /// The page's nodes, to be completed before they are resolved.
    pub fn nodes_mut(&mut self) -> impl Iterator<Item = &mut N> {
        self.edges.iter_mut().map(|e| &mut e.node)
    }
}

#[Object(name_type)]
impl<N: ListItem> Connection<N> {
    async fn edges(&self) -> &[Edge<N>] {
        &self.edges
    }
    async fn nodes(&self) -> Vec<N> {
        self.edges.iter().map(|e| e.node.clone()).collect()
    }
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// All rows matching the filter; counted only when asked for.
    async fn total_count(&self) -> async_graphql::Result<i32> {
        Ok(self.total.get().await?)
    }
}

impl<N: ListItem> TypeName for Connection<N> {
    fn type_name() -> Cow<'static, str> {
        N::CONNECTION.into()
    }
}

pub struct Page<N> {
    items: Vec<N>,
    page: i32,
    page_size: i32,
    has_next_page: bool,
    total: LazyTotal,
}

impl<N: ListItem> Page<N> {
    pub fn new<M>(numbered: NumberedPage<M>, node: impl Fn(M) -> N, total: LazyTotal) -> Self {
        Page {
            items: numbered.rows.into_iter().map(node).collect(),
            page: numbered.page,
            page_size: numbered.page_size,
            has_next_page: numbered.has_next_page,
            total,
        }
    }

    /// The page's items, to be completed before they are resolved.
    pub fn items_mut(&mut self) -> impl Iterator<Item = &mut N> {
        self.items.iter_mut()
    }
}

#[Object(name_type)]
impl<N: ListItem> Page<N> {
    async fn items(&self) -> &[N] {
        &self.items
    }
    async fn page(&self) -> i32 {
        self.page
    }
    async fn page_size(&self) -> i32 {
        self.page_size
    }
    /// Counted only when asked for (with `totalPages`, once).
    async fn total_count(&self) -> async_graphql::Result<i32> {
        Ok(self.total.get().await?)
    }
    async fn total_pages(&self) -> async_graphql::Result<i32> {
        let total = self.total.get().await?;
        Ok((total + self.page_size - 1) / self.page_size)
    }
    async fn has_next_page(&self) -> bool {
        self.has_next_page
    }
    async fn has_previous_page(&self) -> bool {
        self.page > 1
    }
}

impl<N: ListItem> TypeName for Page<N> {
    fn type_name() -> Cow<'static, str> {
        N::PAGE.into()
    }
}

/// `rows`, a page of `select`, and the count of `select`'s rows: taken
/// beside the page when the total is selected (`totalCount`,
/// `totalPages`), one wait for both where counting on demand waited for the
/// page first; else left for later, if ever. Callers box this future: the
/// root query's resolver future is as large as its largest field's, and it
/// is moved on every request, `me` included (inline, this one cost S1 a
/// tenth of its throughput).
async fn with_total<E, T>(
    ctx: &Context<'_>,
    app: &AppContext,
    select: Select<E>,
    rows: impl Future<Output = Result<T, AppError>>,
) -> Result<(T, LazyTotal), AppError>
where
    E: EntityTrait,
    E::Model: Sync,
    Select<E>: Clone + Send + Sync + 'static,
{
    let counter = Counter::new(app.db.read().clone(), select);
    let look = ctx.look_ahead();
    if !(look.field("totalCount").exists() || look.field("totalPages").exists()) {
        return Ok((rows.await?, LazyTotal::new(counter, None)));
    }
    let both = async { tokio::try_join!(rows, async { Ok(counter.count().await?) }) };
    let (rows, n) = app.db.read().together(both).await?;
    Ok((rows, LazyTotal::new(counter, Some(n))))
}

/// A connection field's whole body: one keyset page of `select` in
/// `ordering`, with the total counted only if selected.
pub async fn connection<E, N>(
    ctx: &Context<'_>,
    select: Select<E>,
    ordering: &Ordering<E>,
    window: Window,
    node: impl Fn(E::Model) -> N,
) -> Result<Connection<N>, AppError>
where
    E: EntityTrait,
    E::Model: Sync,
    E::ActiveModel: sea_orm::TryIntoModel<E::Model>,
    Select<E>: Clone + Send + Sync + 'static,
    N: ListItem,
{
    let app = app(ctx)?;
    let cursors = Cursors {
        secret: app.settings.secret_bytes(),
    };
    let rows = pagination::keyset(app.db.read(), select.clone(), ordering, window, &cursors);
    // Boxed: inline, this future would grow every query's (see `with_total`).
    let (slice, total) = Box::pin(with_total(ctx, app, select.clone(), rows)).await?;
    Ok(Connection::new(slice, node, total))
}

/// A page-number field's whole body.
pub async fn page<E, N>(
    ctx: &Context<'_>,
    select: Select<E>,
    ordering: &Ordering<E>,
    (page, page_size): (i32, i32),
    node: impl Fn(E::Model) -> N,
) -> Result<Page<N>, AppError>
where
    E: EntityTrait,
    E::Model: Sync,
    E::ActiveModel: sea_orm::TryIntoModel<E::Model>,
    Select<E>: Clone + Send + Sync + 'static,
    N: ListItem,
{
    let app = app(ctx)?;
    let rows = pagination::numbered(app.db.read(), select.clone(), ordering, page, page_size);
    let (numbered, total) = Box::pin(with_total(ctx, app, select.clone(), rows)).await?;
    Ok(Page::new(numbered, node, total))
}
