//! List pagination, written once for every entity: Relay-style keyset
//! cursors and page numbers.
//!
//! A cursor holds the sort key and id of a row (the id breaks ties), and the
//! ordering it was made for, signed with the server key: opaque to clients,
//! tamper-evident, and independent of offsets, so paging stays correct while
//! rows come and go and a deep page costs what the first one does.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, ExprTrait};
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select,
    TryIntoModel,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::tokens::{constant_time_eq, hmac_hex};
use crate::db::Hot;
use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE_SIZE: i32 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;

/// The value of a row's sort column, as a cursor carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SortKey {
    /// Microseconds since the epoch (stored timestamps are truncated to µs).
    Time(i64),
    Text(String),
    Int(i64),
}

impl SortKey {
    pub fn time(t: DateTime<Utc>) -> SortKey {
        SortKey::Time(t.timestamp_micros())
    }

    fn value(&self) -> AppResult<sea_orm::Value> {
        Ok(match self {
            SortKey::Time(us) => DateTime::<Utc>::from_timestamp_micros(*us)
                .ok_or_else(|| AppError::field("after", "is not a valid cursor"))?
                .into(),
            SortKey::Text(s) => s.clone().into(),
            SortKey::Int(n) => (*n).into(),
        })
    }
}

/// One ordering of an entity's rows: a sort column, then the id.
pub struct Ordering<E: EntityTrait> {
    /// Named in cursors, so a cursor of one ordering is refused by another.
    pub name: &'static str,
    pub column: E::Column,
    pub id_column: E::Column,
    pub descending: bool,
    pub key: fn(&E::Model) -> SortKey,
    pub id: fn(&E::Model) -> Uuid,
}

/// `Ordering` newest first by the entity's `created_at` (ties by `id`), as
/// an activity log reads: the one ordering of every such list.
macro_rules! newest_first {
    ($entity:ty) => {
        $crate::services::shared::pagination::Ordering::<$entity> {
            name: "CREATED_AT",
            column: <$entity as sea_orm::EntityTrait>::Column::CreatedAt,
            id_column: <$entity as sea_orm::EntityTrait>::Column::Id,
            descending: true,
            key: |row| $crate::services::shared::pagination::SortKey::time(row.created_at),
            id: |row| row.id,
        }
    };
}
pub(crate) use newest_first;

/// The Relay arguments of a connection field.
#[derive(Default, Debug)]
pub struct Window {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl Window {
    /// The four Relay arguments, as a connection field receives them.
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Window {
        Window {
            first,
            after,
            last,
            before,
        }
    }
}

/// One page of a connection.
pub struct Slice<M> {
    pub rows: Vec<(Position, M)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// One page of page-number pagination.
pub struct NumberedPage<M> {
    pub rows: Vec<M>,
    pub page: i32,
    pub page_size: i32,
    pub has_next_page: bool,
}

type CountFuture = Pin<Box<dyn Future<Output = Result<u64, DbErr>> + Send>>;

/// Counts the rows of a list when, and only if, a client asks for the total.
#[derive(Clone)]
pub struct Counter(Arc<dyn Fn() -> CountFuture + Send + Sync>);

impl Counter {
    pub fn new<E>(hot: Hot, select: Select<E>) -> Counter
    where
        E: EntityTrait,
        E::Model: Sync,
        Select<E>: Clone + Send + Sync + 'static,
    {
        Counter(Arc::new(move || {
            let (hot, select) = (hot.clone(), select.clone());
            Box::pin(async move { hot.count(select).await })
        }))
    }

    pub async fn count(&self) -> Result<u64, DbErr> {
        (self.0)().await
    }
}

#[derive(Serialize, Deserialize)]
struct CursorBody {
    o: String,
    d: bool,
    k: SortKey,
    i: Uuid,
}

/// Signed cursors: bytes an attacker cannot forge into another position.
pub struct Cursors<'a> {
    pub secret: &'a [u8],
}

/// Where a row sits in its ordering: what its cursor says, kept unsigned
/// so that a page signs (HMAC) only the cursors a client selects.
#[derive(Clone, Debug)]
pub struct Position {
    ordering: &'static str,
    descending: bool,
    key: SortKey,
    id: Uuid,
}

impl Position {
    fn of<E: EntityTrait>(ordering: &Ordering<E>, row: &E::Model) -> Position {
        Position {
            ordering: ordering.name,
            descending: ordering.descending,
            key: (ordering.key)(row),
            id: (ordering.id)(row),
        }
    }
}

/// `CursorBody` as written, borrowing from a `Position`.
#[derive(Serialize)]
struct CursorOut<'a> {
    o: &'a str,
    d: bool,
    k: &'a SortKey,
    i: Uuid,
}

impl Cursors<'_> {
    pub fn encode(&self, position: &Position) -> String {
        let body = CursorOut {
            o: position.ordering,
            d: position.descending,
            k: &position.key,
            i: position.id,
        };
        let json = serde_json::to_string(&body).unwrap_or_default();
        let sig = &hmac_hex(self.secret, &[b"cursor", json.as_bytes()])[..32];
        URL_SAFE_NO_PAD.encode(format!("{sig}{json}"))
    }

    fn decode<E: EntityTrait>(
        &self,
        ordering: &Ordering<E>,
        cursor: &str,
        field: &str,
    ) -> AppResult<(SortKey, Uuid)> {
        let bad = || AppError::field(field, "is not a valid cursor");
        if cursor.len() > 2048 {
            return Err(bad());
        }
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        if raw.len() < 32 || !raw.is_char_boundary(32) {
            return Err(bad());
        }
        let (sig, json) = raw.split_at(32);
        if !constant_time_eq(
            sig,
            &hmac_hex(self.secret, &[b"cursor", json.as_bytes()])[..32],
        ) {
            return Err(bad());
        }
        let body: CursorBody = serde_json::from_str(json).map_err(|_| bad())?;
        if body.o != ordering.name || body.d != ordering.descending {
            return Err(AppError::field(field, "was made for another ordering"));
        }
        Ok((body.k, body.i))
    }
}

/// Rows strictly past `(key, id)` in the ordering's direction (`ahead`) or
/// strictly before it. Written as `k > x OR (k = x AND id > y)`, which both
/// backends plan as index range scans.
fn past<E: EntityTrait>(
    ordering: &Ordering<E>,
    key: &SortKey,
    id: Uuid,
    ahead: bool,
) -> AppResult<Condition> {
    let value = key.value()?;
    let greater = ahead != ordering.descending;
    let (key_beyond, id_beyond) = if greater {
        (ordering.column.gt(value.clone()), ordering.id_column.gt(id))
    } else {
        (ordering.column.lt(value.clone()), ordering.id_column.lt(id))
    };
    Ok(Condition::any()
        .add(key_beyond)
        .add(ordering.column.eq(value).and(id_beyond)))
}

fn size(value: Option<i32>, field: &str) -> AppResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(Some(n as u64)),
        Some(_) => Err(AppError::field(
            field,
            &format!("must be between 1 and {MAX_PAGE_SIZE}"),
        )),
    }
}

fn sorted<E: EntityTrait>(select: Select<E>, ordering: &Ordering<E>, reverse: bool) -> Select<E> {
    let order = if ordering.descending != reverse {
        Order::Desc
    } else {
        Order::Asc
    };
    select
        .order_by(ordering.column, order.clone())
        .order_by(ordering.id_column, order)
}

/// A Relay connection page over `select` (already filtered) in `ordering`.
#[tracing::instrument(skip_all)]
pub async fn keyset<E>(
    hot: &Hot,
    select: Select<E>,
    ordering: &Ordering<E>,
    window: Window,
    cursors: &Cursors<'_>,
) -> AppResult<Slice<E::Model>>
where
    E: EntityTrait,
    E::ActiveModel: TryIntoModel<E::Model>,
    Select<E>: Clone,
{
    let first = size(window.first, "first")?;
    let last = size(window.last, "last")?;
    if first.is_some() && last.is_some() {
        return Err(AppError::field("last", "cannot be combined with first"));
    }
    let after = window
        .after
        .as_deref()
        .map(|c| cursors.decode(ordering, c, "after"))
        .transpose()?;
    let before = window
        .before
        .as_deref()
        .map(|c| cursors.decode(ordering, c, "before"))
        .transpose()?;

    let mut bounded = select.clone();
    if let Some((key, id)) = &after {
        bounded = bounded.filter(past(ordering, key, *id, true)?);
    }
    if let Some((key, id)) = &before {
        bounded = bounded.filter(past(ordering, key, *id, false)?);
    }
    let backward = last.is_some();
    let limit = last.or(first).unwrap_or(DEFAULT_PAGE_SIZE as u64);
    let mut rows = hot
        .list(sorted(bounded, ordering, backward).limit(limit + 1))
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backward {
        rows.reverse();
    }
    // Whether rows exist beyond the cursor on the other side: one indexed
    // probe, so pageInfo is exact rather than guessed.
    let exists_past = |cursor: &Option<(SortKey, Uuid)>, ahead: bool| {
        let select = select.clone();
        let cursor = cursor.clone();
        async move {
            match cursor {
                None => Ok::<bool, AppError>(false),
                Some((key, id)) => Ok(!hot
                    .list(select.filter(past(ordering, &key, id, ahead)?).limit(1))
                    .await?
                    .is_empty()),
            }
        }
    };
    let (has_next_page, has_previous_page) = if backward {
        (exists_past(&before, true).await?, more)
    } else {
        (more, exists_past(&after, false).await?)
    };
    Ok(Slice {
        rows: rows
            .into_iter()
            .map(|row| (Position::of(ordering, &row), row))
            .collect(),
        has_next_page,
        has_previous_page,
    })
}

/// Page `page` (1-based) of `page_size` rows; past the end it is empty.
#[tracing::instrument(skip_all)]
pub async fn numbered<E>(
    hot: &Hot,
    select: Select<E>,
    ordering: &Ordering<E>,
    page: i32,
    page_size: i32,
) -> AppResult<NumberedPage<E::Model>>
where
    E: EntityTrait,
    E::ActiveModel: TryIntoModel<E::Model>,
{
    if page < 1 {
        return Err(AppError::field("page", "must be at least 1"));
    }
    let size = size(Some(page_size), "pageSize")?.unwrap_or(DEFAULT_PAGE_SIZE as u64);
    let offset = (page as u64 - 1) * size;
    let mut rows = hot
        .list(
            sorted(select, ordering, false)
                .offset(offset)
                .limit(size + 1),
        )
        .await?;
    let has_next_page = rows.len() as u64 > size;
    rows.truncate(size as usize);
    Ok(NumberedPage {
        rows,
        page,
        page_size,
        has_next_page,
    })
}
