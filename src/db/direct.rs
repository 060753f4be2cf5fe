//! The hot statements of `db::Hot` on PostgreSQL, on connections of our own.
//!
//! sqlx's pool (0.9) returns a connection by spawning a task that sends
//! `Sync` and waits for PostgreSQL's `ReadyForQuery` before the connection
//! is idle again: a second round trip, a task and a backend wake-up for
//! every statement, unconditionally. On the hot path that doubled the
//! syscalls and context switches of a request and the CPU PostgreSQL spent
//! on it. Here the statements SeaORM builds run on a fixed set of plain
//! sqlx `PgConnection`s instead:
//!
//! - a connection is lent to one statement at a time and put back, in the
//!   same call, once its answer has been read to the end (`ReadyForQuery`
//!   seen), so it is known to be clean without asking again;
//! - a statement whose caller went away mid-flight (a dropped future) may
//!   leave its connection mid-answer: that connection is closed, never
//!   lent again, and the slot connects afresh on its next use; so does a
//!   connection whose error was not PostgreSQL's own answer (I/O, protocol);
//! - each connection prepares a statement once and keeps it (sqlx's
//!   per-connection cache, keyed by the SQL text), and plans it once too:
//!   `plan_cache_mode = force_generic_plan`, because PostgreSQL's default
//!   re-plans every execution of a prepared `… LIMIT $n` (a generic plan
//!   costed for an unknown limit looks dearer than the custom ones, though
//!   it is the same index scan);
//! - `statement_timeout` is `QUERY_TIMEOUT`, and waiting for a connection
//!   is bounded by it too, so these reads keep the deadlines of the pool's.
//!
//! Transactions stay on the pool (`db::begin_write`): a transaction holds
//! its connection across awaits the caller controls.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sea_orm::sqlx::{self, ConnectOptions, Connection};
use sea_orm::{DbErr, RuntimeErr, Statement, Values};
use sea_query_sqlx::SqlxValues;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::hot::Turns;

/// What a statement does: a read may run again after its connection died,
/// and reads and writes take connections from budgets of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

pub struct Direct {
    options: PgConnectOptions,
    /// Connections put back clean, most recently used last.
    idle: Mutex<Vec<PgConnection>>,
    /// One permit per read that may run at once: PostgreSQL shares the
    /// machine's cores, and more backends running at once than about two a
    /// core only add context switches.
    reads: Turns,
    /// One permit per write that may run at once: a write mostly waits for
    /// its commit to reach the disk, and must not hold up the reads.
    writes: Turns,
    /// Connections open, idle or lent.
    open: AtomicUsize,
    /// `QUERY_TIMEOUT`: the longest wait for a connection (and for a list
    /// read's turn, `Hot`).
    pub timeout: Duration,
    /// The application's statement counter (see `AppContext::queries`).
    queries: Arc<AtomicU64>,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct")
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl Direct {
    /// At most `reads + writes` connections to `url`, opened on first need.
    pub fn new(
        url: &str,
        (reads, writes): (usize, usize),
        timeout: Duration,
        queries: Arc<AtomicU64>,
    ) -> Result<Direct, DbErr> {
        let options = PgConnectOptions::from_str(url).map_err(|e| DbErr::Conn(sqlx_err(e)))?;
        let options = super::with_statement_timeout(options, timeout)
            .options([("plan_cache_mode", "force_generic_plan")])
            .disable_statement_logging();
        Ok(Direct {
            options,
            idle: Mutex::new(Vec::with_capacity(reads + writes)),
            reads: Turns::new(reads),
            writes: Turns::new(writes),
            open: AtomicUsize::new(0),
            timeout,
            queries,
        })
    }

    /// Connections open, and of those idle (for `authql_db_pool_connections`).
    pub fn sizes(&self) -> (usize, usize) {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).len();
        (self.open.load(Ordering::Relaxed), idle)
    }

    /// Runs `statement` and reads every row of its answer. A connection
    /// found dead (PostgreSQL restarted, a backend terminated) takes every
    /// idle one with it, as old and likely as dead; and a read (`Access::
    /// Read`) that failed on a reused connection runs once more on a new one:
    /// a read is safe to repeat. A write is not retried: it may have run.
    pub async fn fetch(&self, statement: &Statement, access: Access) -> Result<Vec<PgRow>, DbErr> {
        let mut again = access == Access::Read;
        let mut fresh = false;
        loop {
            let mut lease = self.lease(access, fresh).await?;
            self.queries.fetch_add(1, Ordering::Relaxed);
            let values = statement.values.clone().unwrap_or(Values(Vec::new()));
            let sql = sqlx::AssertSqlSafe(statement.sql.as_str());
            let conn = lease.conn.as_mut().expect("a lease holds its connection");
            let began = Instant::now();
            let answer = sqlx::query_with(sql, SqlxValues(values))
                .fetch_all(conn)
                .await;
            let elapsed = began.elapsed();
            if elapsed > super::SLOW_QUERY {
                tracing::warn!(
                    elapsed_ms = elapsed.as_millis() as u64,
                    failed = answer.is_err(),
                    "slow query"
                );
            }
            match answer {
                Ok(rows) => {
                    lease.clean = true;
                    return Ok(rows);
                }
                // PostgreSQL's own answer (a constraint, the statement
                // timeout) ends with `ReadyForQuery`: the connection is fine.
                Err(e) if !broken(&e) => {
                    lease.clean = true;
                    return Err(DbErr::Query(sqlx_err(e)));
                }
                Err(e) => {
                    self.forget_idle();
                    if !(again && lease.reused) {
                        return Err(DbErr::Query(sqlx_err(e)));
                    }
                    tracing::warn!(error = %e, "a PostgreSQL connection had closed; reading again");
                    (again, fresh) = (false, true);
                }
            }
        }
    }

    /// Closes the idle connections.
    fn forget_idle(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        self.open.fetch_sub(idle.len(), Ordering::Relaxed);
    }

    /// A connection of the set: an idle one (unless `fresh`), else a new
    /// one in a free slot; waiting at most `QUERY_TIMEOUT` for a slot.
    async fn lease(&self, access: Access, fresh: bool) -> Result<Lease<'_>, DbErr> {
        let slots = match access {
            Access::Read => &self.reads,
            Access::Write => &self.writes,
        };
        let permit = slots.take(Instant::now() + self.timeout).await?;
        let idle = match fresh {
            true => None,
            false => self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop(),
        };
        let reused = idle.is_some();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = PgConnection::connect_with(&self.options)
                    .await
                    .map_err(|e| DbErr::Conn(sqlx_err(e)))?;
                self.open.fetch_add(1, Ordering::Relaxed);
                conn
            }
        };
        Ok(Lease {
            direct: self,
            conn: Some(conn),
            reused,
            clean: false,
            _permit: permit,
        })
    }
}

/// A connection lent to one statement. Put back when dropped if the
/// statement's answer was read to the end; else closed.
struct Lease<'a> {
    direct: &'a Direct,
    conn: Option<PgConnection>,
    /// Lent before: it may have died while idle.
    reused: bool,
    clean: bool,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.clean {
            let mut idle = self.direct.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.push(conn);
        } else {
            self.direct.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A sqlx error as SeaORM wraps its own, so that `db::sql_err` and
/// `AppError` classify it alike.
pub fn sqlx_err(e: sqlx::Error) -> RuntimeErr {
    RuntimeErr::SqlxError(Arc::new(e))
}

/// Whether `e` leaves its connection unusable: a failure of the connection
/// itself, or PostgreSQL's word that it ended the session (class 08, or
/// 57P01–57P03: terminated by an administrator, a crash, a shutdown; sent
/// when it happens and read with the next statement).
fn broken(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => true,
    }
}
