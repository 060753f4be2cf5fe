//! `Db`: the one handle services reach the database through. It names what
//! a service does, never where it runs:
//!
//! - `read()`: a select outside a transaction (SeaORM's `Select`), run on
//!   each engine's fast path with a deadline (`Hot`: in place on SQLite,
//!   pipelined on PostgreSQL).
//! - `write()`: a transaction for read-then-write work (SQLite's starts
//!   `IMMEDIATE`); it implements SeaORM's `ConnectionTrait`.
//! - `insert()`: one new row through the grouped autocommit writer.
//! - `alone()`: one statement that is its own transaction, for the
//!   helpers that run either inside a `write()` or alone (a rate-limit hit,
//!   an event recorded apart from any change, a lookup by email).
//!
//! The server's own plumbing (health, metrics, shutdown) reaches the pool
//! through `pool()`; services do not (CI checks).
//!
//! Behind a transaction pooler (`DATABASE_POOLER=transaction`) `write()`
//! sets up each transaction for a server connection other clients used
//! (`begin_pooled`), `alone()` runs each statement in such a transaction,
//! and `read()` sends each statement unnamed, in one exchange.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel,
    TryIntoModel,
};

use super::{Alone, Hot, Pooled, SLOW_QUERY, begin_pooled, begin_write};

#[derive(Clone, Debug)]
pub struct Db {
    /// Transactions.
    pool: DatabaseConnection,
    /// Single statements.
    alone: Alone,
    hot: Hot,
    /// Behind a pooler: how each transaction is set up.
    pooled: Option<Pooled>,
}

impl Db {
    /// Over a connected pool (`db::connect`) to `url`: the fast path
    /// beside it, with `timeout` (`QUERY_TIMEOUT`) for its reads. Every
    /// statement, on the pool or the fast path, counts in `queries`; one
    /// slower than `SLOW_QUERY` is logged by its time only (statements can
    /// carry secrets in their values). `pooled`: `DATABASE_POOLER=transaction`.
    pub fn open(
        mut pool: DatabaseConnection,
        url: &str,
        timeout: Duration,
        queries: Arc<AtomicU64>,
        pooled: bool,
    ) -> Result<Db, DbErr> {
        let counter = queries.clone();
        pool.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            if info.elapsed > SLOW_QUERY {
                tracing::warn!(
                    elapsed_ms = info.elapsed.as_millis() as u64,
                    failed = info.failed,
                    "slow query"
                );
            }
        });
        let hot = Hot::new(url, &pool, queries, timeout, pooled)?;
        let pooled = pooled.then_some(Pooled {
            statement_timeout: Some(timeout),
        });
        Ok(Db {
            alone: Alone::new(pool.clone(), pooled),
            pool,
            hot,
            pooled,
        })
    }

    /// Selects outside a transaction.
    pub fn read(&self) -> &Hot {
        &self.hot
    }

    /// A write transaction; commit it, or it rolls back when dropped.
    pub async fn write(&self) -> Result<DatabaseTransaction, DbErr> {
        match self.pooled {
            Some(pooled) => begin_pooled(&self.pool, pooled).await,
            None => begin_write(&self.pool).await,
        }
    }

    /// Transactions with no statement limit (the CLI's bulk import, whose
    /// pool has none either).
    pub fn unlimited(mut self) -> Db {
        if let Some(pooled) = &mut self.pooled {
            pooled.statement_timeout = None;
            self.alone = Alone::new(self.pool.clone(), self.pooled);
        }
        self
    }

    /// In a long transaction behind a pooler, drops the statements sqlx
    /// prepared so far (it names each and, caching none, never closes one):
    /// a bulk import would otherwise pile them up in one server process.
    pub async fn forget_statements<C: sea_orm::ConnectionTrait>(
        &self,
        txn: &C,
    ) -> Result<(), DbErr> {
        match self.pooled {
            Some(_) => txn.execute_unprepared("DEALLOCATE ALL").await.map(|_| ()),
            None => Ok(()),
        }
    }

    /// Inserts one row with the grouped autocommit writer.
    pub async fn insert<A, E>(&self, row: A) -> Result<E::Model, DbErr>
    where
        A: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + 'static,
        E: EntityTrait<ActiveModel = A>,
        E::Model: IntoActiveModel<A>,
        A: TryIntoModel<E::Model>,
    {
        self.hot.insert(row).await
    }

    /// One statement as its own transaction.
    pub fn alone(&self) -> &Alone {
        &self.alone
    }

    /// The transactions' pool itself: for health, its size, and shutdown.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }
}
