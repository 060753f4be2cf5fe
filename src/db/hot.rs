//! The one data API for hot statements outside transactions.
//!
//! `Hot` takes the queries services build with SeaORM (`Select`,
//! `SelectTwo`, an `ActiveModel` to insert) and answers SeaORM's models, the
//! same calls on both databases. SeaORM builds the statements and reads
//! the rows; where they run is chosen for speed: on a SQLite file in place
//! (`in_place`), on PostgreSQL on connections of our own (`direct`); an
//! in-memory SQLite database is refused by the settings. Errors are
//! classified alike (`db::sql_err`).
//!
//! Reads are bounded (API.md §8.1, `QUERY_TIMEOUT`): a statement that runs
//! or waits longer fails with an error `AppError` reports as
//! `SERVICE_UNAVAILABLE`. List reads (`list`, `count`: a search or a count
//! may scan a table) never hold up lookups by key, so a flood of slow
//! searches cannot starve sign-ins and `me`: on PostgreSQL they queue on
//! connections of their own (`direct`). In place, a read that outgrows its
//! budget on the calling thread (or a search, at once) moves to the
//! blocking pool (`in_place`). Transactions always go to the pool
//! (`db::begin_write`). SeaORM's proxy connection would have let services
//! pass `&DatabaseConnection` here too, but sea-orm 2.0.4 does not compile
//! its proxy feature beside sqlx-sqlite and sqlx-postgres.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, IntoActiveModel,
    QuerySelect, QueryTrait, Select, SelectTwo, Statement, StatementBuilder, TryIntoModel,
};
use uuid::Uuid;

use super::columns::Pair;
use super::direct::{Access, Direct};
use super::in_place::{InPlace, Later};
use super::pg_rows;
use super::statements::{self, Keyed};

#[derive(Clone, Debug)]
pub enum Hot {
    /// PostgreSQL, on connections of our own (`direct`).
    Direct(Arc<Postgres>),
    InPlace(Arc<InPlace>),
}

/// The direct path's connections and its statements built once.
#[derive(Debug)]
pub struct Postgres {
    direct: Direct,
    keyed: Keyed,
}

impl Hot {
    /// In place on a SQLite file, direct on PostgreSQL;
    /// `queries` counts the statements run outside the pool, as the pool's
    /// metric callback counts its own; `timeout` is `QUERY_TIMEOUT`.
    /// `pooled`: `url` is a transaction pooler (`Direct::new`).
    pub fn new(
        url: &str,
        db: &DatabaseConnection,
        queries: Arc<AtomicU64>,
        timeout: Duration,
        pooled: bool,
    ) -> Result<Hot, DbErr> {
        if db.get_database_backend() == DbBackend::Postgres {
            let direct = Direct::new(url, super::DIRECT_CONNECTIONS, timeout, queries, pooled)?;
            return Ok(Hot::Direct(Arc::new(Postgres {
                direct,
                keyed: Keyed::default(),
            })));
        }
        match InPlace::open(url, db, queries, timeout)? {
            Some(in_place) => Ok(Hot::InPlace(Arc::new(in_place))),
            // The settings refuse it first (`DATABASE_URL`): each pool
            // connection would see a database of its own.
            None => Err(DbErr::Custom(
                "an in-memory SQLite database is not supported: name a file".into(),
            )),
        }
    }

    /// Connections this path holds of its own, open and idle (the pool's
    /// are counted apart).
    pub fn connections(&self) -> (usize, usize) {
        match self {
            Hot::Direct(pg) => pg.direct.sizes(),
            Hot::InPlace(_) => (0, 0),
        }
    }

    /// Runs `work`, whose statements are awaited at once (a page and its
    /// count), so that they share a round trip where they can: on
    /// PostgreSQL, one connection (`direct::together`).
    pub async fn together<F: Future>(&self, work: F) -> F::Output {
        match self {
            Hot::Direct(_) => super::direct::together(work).await,
            Hot::InPlace(_) => work.await,
        }
    }

    /// `all` for a list that may scan (a page, a filter, a search): on the
    /// pool, in turns (see the module's notes).
    pub async fn list<E>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        match self {
            Hot::Direct(pg) => {
                let statement = select.build(DbBackend::Postgres);
                pg_rows::models::<E>(&pg.direct.fetch(&statement, Access::List).await?)
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
            Hot::Direct(pg) => pg.all::<E>(select.build(DbBackend::Postgres)).await,
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
            Hot::Direct(pg) => {
                pg.one_also::<A, B>(select.limit(1).build(DbBackend::Postgres))
                    .await
            }
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
            Hot::Direct(pg) => {
                let statement = pg.keyed.get::<F>(id, || {
                    select(Uuid::nil()).limit(1).build(DbBackend::Postgres)
                })?;
                pg.one_also::<A, B>(statement).await
            }
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
            Hot::Direct(pg) => {
                let statement = statements::count(select, DbBackend::Postgres);
                pg_rows::count(&pg.direct.fetch(&statement, Access::List).await?)
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
        self.insert_then(row, None).await
    }

    /// `insert`, and on SQLite `later` run after the group's inserts with
    /// the row's rowid (its text-search index row); PostgreSQL's indexes
    /// need nothing.
    pub async fn insert_then<A, E>(&self, row: A, later: Option<Later>) -> Result<E::Model, DbErr>
    where
        A: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + 'static,
        E: EntityTrait<ActiveModel = A>,
        E::Model: IntoActiveModel<A>,
        A: TryIntoModel<E::Model>,
    {
        match self {
            Hot::Direct(pg) => {
                let mut query = E::insert(row).into_query();
                query.returning_all();
                let statement = StatementBuilder::build(&query, &DbBackend::Postgres);
                let rows = pg.direct.fetch(&statement, Access::Write).await?;
                let inserted = pg_rows::models::<E>(&rows)?.into_iter().next();
                inserted.ok_or(DbErr::RecordNotInserted)
            }
            Hot::InPlace(r) => r.insert(row, later).await,
        }
    }
}

impl Postgres {
    async fn all<E: EntityTrait>(&self, statement: Statement) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        pg_rows::models::<E>(&self.direct.fetch(&statement, Access::Lookup).await?)
    }

    async fn one_also<A, B>(&self, statement: Statement) -> Result<Option<Pair<A, B>>, DbErr>
    where
        A: EntityTrait,
        B: EntityTrait,
        A::ActiveModel: TryIntoModel<A::Model>,
        B::ActiveModel: TryIntoModel<B::Model>,
    {
        pg_rows::pair::<A, B>(&self.direct.fetch(&statement, Access::Lookup).await?)
    }
}
