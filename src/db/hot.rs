//! The one data API for hot statements outside transactions.
//!
//! `Hot` takes the queries services build with SeaORM (`Select`,
//! `SelectTwo`, an `ActiveModel` to insert) and answers SeaORM's models, the
//! same calls on both databases: on PostgreSQL (and in-memory SQLite) each
//! method is SeaORM's own call on the pool; on a SQLite file the same
//! statements run in place (`in_place`, for speed). Errors are classified
//! alike (`db::sql_err`).
//!
//! Reads are bounded (API.md §8.1, `QUERY_TIMEOUT`): a statement that runs
//! or waits longer fails with an error `AppError` reports as
//! `SERVICE_UNAVAILABLE`. On PostgreSQL the pool's `statement_timeout` cuts
//! it off, and list reads (`list`, `count`: a search or a count may scan a
//! table) take turns that leave `RESERVED_FOR_LOOKUPS` connections to
//! everything else, so a flood of slow searches cannot starve sign-ins and
//! `me`. In place, a read that outgrows its budget on the calling thread
//! moves to the blocking pool (`in_place`). Transactions always go to the pool
//! (`db::begin_write`). SeaORM's proxy connection would have let services
//! pass `&DatabaseConnection` here too, but sea-orm 2.0.4 does not compile
//! its proxy feature beside sqlx-sqlite and sqlx-postgres.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait,
    QuerySelect, Select, SelectTwo, TryIntoModel,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use uuid::Uuid;

use super::in_place::{InPlace, Pair};

#[derive(Clone, Debug)]
pub enum Hot {
    Pool {
        db: DatabaseConnection,
        lists: Arc<Turns>,
        timeout: Duration,
    },
    InPlace(Arc<InPlace>),
}

impl Hot {
    /// In place on a SQLite file, else the pool; `queries` counts the reads
    /// run in place, as the pool's metric callback counts its own;
    /// `timeout` is `QUERY_TIMEOUT`.
    pub fn new(
        url: &str,
        db: &DatabaseConnection,
        queries: Arc<AtomicU64>,
        timeout: Duration,
    ) -> Result<Hot, DbErr> {
        Ok(match InPlace::open(url, db, queries, timeout)? {
            Some(in_place) => Hot::InPlace(Arc::new(in_place)),
            None => Hot::Pool {
                db: db.clone(),
                lists: Arc::new(Turns::new(super::list_permits(db.get_database_backend()))),
                timeout,
            },
        })
    }

    /// `all` for a list that may scan (a page, a filter, a search): on the
    /// pool, in turns (see the module's notes).
    pub async fn list<E>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        match self {
            Hot::Pool { db, lists, timeout } => {
                let _turn = lists.take(Instant::now() + *timeout).await?;
                select.all(db).await
            }
            Hot::InPlace(r) => r.all(select).await,
        }
    }

    /// `select.all(db)`.
    pub async fn all<E>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        match self {
            Hot::Pool { db, .. } => select.all(db).await,
            Hot::InPlace(r) => r.all(select).await,
        }
    }

    /// `select.one(db)`.
    pub async fn one<E>(&self, select: Select<E>) -> Result<Option<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        Ok(self.all(select.limit(1)).await?.into_iter().next())
    }

    /// `select.one(db)` of a `find_also_related`: the row and its related
    /// row, `None` when absent.
    pub async fn one_also<A, B>(&self, select: SelectTwo<A, B>) -> Result<Option<Pair<A, B>>, DbErr>
    where
        A: EntityTrait,
        B: EntityTrait,
        A::ActiveModel: TryIntoModel<A::Model>,
        B::ActiveModel: TryIntoModel<B::Model>,
    {
        match self {
            Hot::Pool { db, .. } => select.one(db).await,
            Hot::InPlace(r) => r.one_also(select).await,
        }
    }

    /// `one_also` of the row whose key is `id`, where `select` builds that
    /// query for any key. In place, the statement is built once per query
    /// (keyed by the type of `select`, a closure) and only the key changes:
    /// building the session check afresh was a tenth of the CPU of an
    /// authenticated request.
    pub async fn one_also_by_id<A, B, F>(
        &self,
        id: Uuid,
        select: F,
    ) -> Result<Option<Pair<A, B>>, DbErr>
    where
        A: EntityTrait,
        B: EntityTrait,
        A::ActiveModel: TryIntoModel<A::Model>,
        B::ActiveModel: TryIntoModel<B::Model>,
        F: Fn(Uuid) -> SelectTwo<A, B> + 'static,
    {
        match self {
            Hot::Pool { db, .. } => select(id).one(db).await,
            Hot::InPlace(r) => r.one_also_by_id(id, select).await,
        }
    }

    /// `select.count(db)`: the rows `select` matches, ignoring its order
    /// and limit; a list read, in turns on the pool.
    pub async fn count<E>(&self, select: Select<E>) -> Result<u64, DbErr>
    where
        E: EntityTrait,
        E::Model: Sync,
    {
        match self {
            Hot::Pool { db, lists, timeout } => {
                let _turn = lists.take(Instant::now() + *timeout).await?;
                select.count(db).await
            }
            Hot::InPlace(r) => r.count(select).await,
        }
    }

    /// `row.insert(db)`: the row as stored, once committed (in place, in a
    /// group with whatever other inserts are waiting).
    pub async fn insert<A, E>(&self, row: A) -> Result<E::Model, DbErr>
    where
        A: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + 'static,
        E: EntityTrait<ActiveModel = A>,
        E::Model: IntoActiveModel<A>,
        A: TryIntoModel<E::Model>,
    {
        match self {
            Hot::Pool { db, .. } => row.insert(db).await,
            Hot::InPlace(r) => r.insert(row).await,
        }
    }
}

/// At most so many holders at once; a caller that cannot get a turn by its
/// deadline fails as a pool checkout that timed out would.
#[derive(Debug)]
pub struct Turns(Arc<Semaphore>);

impl Turns {
    pub fn new(permits: usize) -> Turns {
        Turns(Arc::new(Semaphore::new(permits)))
    }

    pub async fn take(&self, deadline: Instant) -> Result<OwnedSemaphorePermit, DbErr> {
        use sea_orm::ConnAcquireErr;
        match tokio::time::timeout_at(deadline, self.0.clone().acquire_owned()).await {
            Ok(Ok(turn)) => Ok(turn),
            Ok(Err(_closed)) => Err(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)),
            Err(_elapsed) => Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
        }
    }
}
