//! The hot statements of `db::Hot`, run in place on a SQLite file.
//!
//! sqlx gives every SQLite connection a thread of its own and hands each
//! statement and each row across channels to it: a one-row primary-key
//! lookup, a few microseconds inside SQLite, costs several thread switches
//! and well over 100 µs of CPU. That was most of the price of an
//! authenticated request (the benchmark's S1). So on a SQLite file the
//! statements SeaORM builds for `Hot` run on connections of our own:
//!
//! - reads on read-only rusqlite connections, on the calling thread
//!   (`reads`). In WAL mode readers never wait for the writer, and each
//!   statement is its own read transaction (rusqlite resets a cached
//!   statement when it is dropped), so a read sees everything committed
//!   before it started, as on the pool;
//! - inserts on one writer thread that commits whatever is waiting in one
//!   transaction (`writer`, group commit);
//! - values bound exactly as sqlx binds them, and rows read back through the
//!   entity's active model, which checks every value's type (`rows`);
//! - SQLite's errors kept with their codes, so `db::sql_err` classifies them
//!   as it does the pool's (`errors`).
//!
//! A read that outgrows a small budget on the calling thread moves to the
//! blocking pool, and no read runs past `QUERY_TIMEOUT` (`reads`).

mod errors;
mod reads;
mod rows;
mod writer;

pub use writer::Later;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, IntoActiveModel,
    QuerySelect, QueryTrait, Select, SelectTwo, TryIntoModel,
};
use uuid::Uuid;

use super::columns::Pair;
use super::statements;
use reads::Reads;
use rows::{fields, model, read_one_also};
use writer::Writer;

pub struct InPlace {
    path: PathBuf,
    reads: Arc<Reads>,
    writer: Writer,
}

impl std::fmt::Debug for InPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("InPlace").field(&self.path).finish()
    }
}

impl InPlace {
    /// In place when `db` is SQLite on a file (not an in-memory database,
    /// which other connections cannot share); `queries` counts the reads
    /// run in place, as `db`'s metric callback counts the pool's.
    pub fn open(
        url: &str,
        db: &DatabaseConnection,
        queries: Arc<AtomicU64>,
        timeout: Duration,
    ) -> Result<Option<InPlace>, DbErr> {
        let Some(path) = sqlite_file(url, db) else {
            return Ok(None);
        };
        Ok(Some(InPlace {
            reads: Arc::new(Reads::open(path.clone(), queries, timeout)?),
            writer: Writer::start(&path)?,
            path,
        }))
    }

    pub async fn all<E>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        self.reads
            .run(select.build(DbBackend::Sqlite), |names, rows| {
                let fields = fields::<E>(names, "");
                let mut out = Vec::new();
                while let Some(row) = rows.next().map_err(errors::db_err)? {
                    out.push(model::<E>(row, &fields)?);
                }
                Ok(out)
            })
            .await
    }

    pub async fn one_also<A, B>(&self, select: SelectTwo<A, B>) -> Result<Option<Pair<A, B>>, DbErr>
    where
        A: EntityTrait,
        B: EntityTrait,
        A::ActiveModel: TryIntoModel<A::Model>,
        B::ActiveModel: TryIntoModel<B::Model>,
    {
        self.reads
            .run(
                select.limit(1).build(DbBackend::Sqlite),
                read_one_also::<A, B>,
            )
            .await
    }

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
        let statement = self
            .reads
            .keyed::<F>(id, || select(Uuid::nil()).limit(1).build(DbBackend::Sqlite))?;
        self.reads.run(statement, read_one_also::<A, B>).await
    }

    /// `SELECT COUNT(*)` over `select` as a subquery, as SeaORM's
    /// `PaginatorTrait::count` builds it.
    pub async fn count<E: EntityTrait>(&self, select: Select<E>) -> Result<u64, DbErr> {
        self.reads
            .run(statements::count(select, DbBackend::Sqlite), |_, rows| {
                let n = match rows.next().map_err(errors::db_err)? {
                    Some(row) => row.get::<_, i64>(0).map_err(errors::db_err)?,
                    None => 0,
                };
                Ok(u64::try_from(n).unwrap_or(0))
            })
            .await
    }

    pub async fn insert<A, E>(&self, row: A, later: Option<Later>) -> Result<E::Model, DbErr>
    where
        A: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + 'static,
        E: EntityTrait<ActiveModel = A>,
        E::Model: IntoActiveModel<A>,
        A: TryIntoModel<E::Model>,
    {
        self.writer.insert(row, later).await
    }
}

/// The file behind `db` when it is SQLite and other connections can open
/// it too (not an in-memory database).
fn sqlite_file(url: &str, db: &DatabaseConnection) -> Option<PathBuf> {
    (db.get_database_backend() == DbBackend::Sqlite)
        .then(|| file_of(url))
        .flatten()
}

fn file_of(url: &str) -> Option<PathBuf> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    let name = path.to_string_lossy();
    (!name.is_empty() && !name.starts_with("file:")).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_databases_have_no_shared_file() {
        assert_eq!(file_of("sqlite::memory:"), None);
        assert_eq!(
            file_of("sqlite:///tmp/x.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x.db"))
        );
    }
}
