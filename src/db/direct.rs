//! The hot statements of `db::Hot` on PostgreSQL, pipelined on connections
//! of our own.
//!
//! Through a pool (sqlx's, 0.9) every statement had a connection to itself:
//! a round trip, and a PostgreSQL backend woken, per statement; and the
//! pool's return of a connection cost a second round trip (`Sync`) on top.
//! Here the statements SeaORM builds run through tokio-postgres, whose
//! connections take the statements of many requests at once: sent together,
//! read by the backend in one wake-up, answered in order. Measured on 2
//! cores (issue 23), that wake-up per statement was most of what PostgreSQL
//! spent on `me` beyond what a lean server costs it.
//!
//! - Connections come in three sets, by what a statement does (`Access`):
//!   lookups by key (the session check), list reads (pages, counts,
//!   searches, which may scan) and writes (which wait on their commit).
//!   A statement queues behind those sent before it on its connection, so
//!   slow lists or commits never hold up a session check; and within a set
//!   a statement goes to the connection with the fewest in flight.
//! - Each connection prepares a statement once and keeps it (by its SQL
//!   and parameter types), and plans it once: `plan_cache_mode =
//!   force_generic_plan`, because PostgreSQL's default re-plans every
//!   execution of a prepared `… LIMIT $n` (a generic plan costed for an
//!   unknown limit looks dearer than the custom ones, though it is the same
//!   index scan). Searches are the exception: they have connections of
//!   their own, where each runs unnamed, planned with its pattern.
//! - `statement_timeout` is `QUERY_TIMEOUT`, and a statement waits and
//!   runs at most twice that plus a second (its first use on a connection
//!   also prepares it, which a loaded machine may not fit in a tiny limit).
//! - A connection found closed (PostgreSQL restarted, a backend
//!   terminated) is replaced on its next use; a read that failed because
//!   its connection closed under it runs once more on a new one (a read is
//!   safe to repeat; a write is not: it may have run).
//! - A statement whose caller went away is still read to its end by the
//!   connection, which stays usable.
//!
//! Transactions stay on the pool (`db::begin_write`): a transaction holds
//! its connection across awaits the caller controls.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};
use tokio::time::{Instant, timeout_at};
use tokio_postgres::{Config, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::connection::{CONNECT_TIMEOUT, SLOW_QUERY, pg_config};
use super::failure::db_err;
use super::pg_conn::{Conn, searches};
use super::pg_params;
use super::tls;

/// What a statement does, and so which connections it may queue on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A read by key: answered in well under a millisecond.
    Lookup = 0,
    /// A read that may scan: a page, a count, a search.
    List = 1,
    /// An insert, which waits for its commit to reach the disk.
    Write = 2,
    /// A text search (`searches`): a list read planned for its pattern.
    Search = 3,
}

tokio::task_local! {
    /// The connection (slot) of each set that the statements of a
    /// `together` scope share, once one is chosen.
    static TOGETHER: Cell<[Option<usize>; 4]>;
}

/// Runs `work` with its statements of each kind on one connection: those
/// awaited at once (a page and its count) then go out in one write and come
/// back in one read, one wake-up of PostgreSQL's backend and of the caller
/// for all of them.
pub async fn together<F: Future>(work: F) -> F::Output {
    TOGETHER.scope(Cell::new([None; 4]), work).await
}

/// Connections of each set (see `Access`).
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub lookups: usize,
    pub lists: usize,
    pub writes: usize,
    pub searches: usize,
}

pub struct Direct {
    config: Config,
    /// `config` without the generic plans, for `searches`.
    search_config: Config,
    /// TLS as the URL's `sslmode` asks (`db::tls`).
    tls: MakeRustlsConnect,
    lookups: Set,
    lists: Set,
    writes: Set,
    searches: Set,
    /// `QUERY_TIMEOUT`: the longest a statement may run (PostgreSQL's
    /// `statement_timeout`); twice that, the longest it may wait and run.
    timeout: Duration,
    /// The application's statement counter (see `AppContext::queries`).
    queries: Arc<AtomicU64>,
    /// Behind a transaction pooler: unnamed statements, no session settings.
    pooled: bool,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct")
            .field("connections", &self.sizes())
            .finish_non_exhaustive()
    }
}

impl Direct {
    /// `sizes` connections to `url`, each opened on first need; `pooled`:
    /// `url` is a transaction pooler, which keeps no session settings (the
    /// deadline is then this side's alone) and no prepared statement.
    pub fn new(
        url: &str,
        sizes: Sizes,
        timeout: Duration,
        queries: Arc<AtomicU64>,
        pooled: bool,
    ) -> Result<Direct, DbErr> {
        let mut base = pg_config(url)?;
        let (ssl_mode, tls) = tls::connector(url)?;
        base.ssl_mode(ssl_mode);
        base.connect_timeout(CONNECT_TIMEOUT);
        let ms = timeout.as_millis().max(1);
        let with = |settings: &str| {
            let mut config = base.clone();
            if pooled {
                return config;
            }
            let options = format!(
                "{} -c statement_timeout={ms}{settings}",
                base.get_options().unwrap_or_default()
            );
            config.options(options.trim_start());
            config
        };
        Ok(Direct {
            config: with(" -c plan_cache_mode=force_generic_plan"),
            search_config: with(""),
            tls,
            lookups: Set::new(sizes.lookups),
            lists: Set::new(sizes.lists),
            writes: Set::new(sizes.writes),
            searches: Set::new(sizes.searches),
            timeout,
            queries,
            pooled,
        })
    }

    /// Connections open, and of those idle (for `authql_db_pool_connections`).
    pub fn sizes(&self) -> (usize, usize) {
        let slots = || {
            [&self.lookups, &self.lists, &self.writes, &self.searches]
                .into_iter()
                .flat_map(|set| set.slots.iter())
        };
        let open = slots().filter(|s| s.current().is_some()).count();
        let idle = slots()
            .filter(|s| s.current().is_some() && s.in_flight.load(Ordering::Relaxed) == 0)
            .count();
        (open, idle)
    }

    /// Runs `statement` and reads every row of its answer. PostgreSQL cuts
    /// it off after `QUERY_TIMEOUT`; one queued so long behind others that
    /// it has not answered within twice that and a second (`fetch`) fails as a pool checkout that
    /// timed out would. Connecting is bounded apart (`CONNECT_TIMEOUT`).
    pub async fn fetch(
        &self,
        statement: &sea_orm::Statement,
        access: Access,
    ) -> Result<Vec<Row>, DbErr> {
        Ok(self.fetch_counted(statement, access).await?.0)
    }

    /// `fetch`, with the number of rows the statement changed.
    pub async fn fetch_counted(
        &self,
        statement: &sea_orm::Statement,
        access: Access,
    ) -> Result<(Vec<Row>, u64), DbErr> {
        let values = statement.values.as_ref().map_or(&[][..], |v| &v.0[..]);
        let types = pg_params::types(values)?;
        let access = match access {
            Access::List if searches(&statement.sql) => Access::Search,
            access => access,
        };
        let (set, config) = match access {
            Access::Lookup => (&self.lookups, &self.config),
            Access::List => (&self.lists, &self.config),
            Access::Write => (&self.writes, &self.config),
            Access::Search => (&self.searches, &self.search_config),
        };
        let slot = set.pick(access);
        let _busy = Busy::new(&slot.in_flight);
        let mut again = access != Access::Write;
        loop {
            let conn = slot.connection(config, &self.tls, self.pooled).await?;
            let deadline = Instant::now() + self.timeout * 2 + Duration::from_secs(1);
            self.queries.fetch_add(1, Ordering::Relaxed);
            let began = Instant::now();
            let answer = timeout_at(deadline, conn.run(&statement.sql, &types, values)).await;
            let elapsed = began.elapsed();
            if elapsed > SLOW_QUERY {
                let failed = !matches!(answer, Ok(Ok(_)));
                let elapsed_ms = elapsed.as_millis() as u64;
                tracing::warn!(elapsed_ms, failed, "slow query");
            }
            let e = match answer {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(e)) => e,
                Err(_elapsed) => {
                    if self.pooled {
                        // No server-side limit behind a pooler (unless the
                        // role has one): stop the statement there too.
                        let (token, tls) = (conn.client.cancel_token(), self.tls.clone());
                        tokio::spawn(async move { token.cancel_query(tls).await.ok() });
                    }
                    return Err(out_of_time());
                }
            };
            if !closed(&e) {
                return Err(db_err(e));
            }
            slot.forget(&conn);
            if !again {
                return Err(db_err(e));
            }
            tracing::warn!("a PostgreSQL connection had closed; reading again");
            again = false;
        }
    }
}

/// A set of connections, each a slot that reconnects when its connection
/// has closed.
struct Set {
    slots: Box<[Slot]>,
    next: AtomicUsize,
}

impl Set {
    fn new(size: usize) -> Set {
        Set {
            slots: (0..size.max(1)).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The slot a `together` scope chose for `access`, else the slot with
    /// the fewest statements in flight, the first found from a starting
    /// point that moves on with every call (so ties rotate).
    fn pick(&self, access: Access) -> &Slot {
        let kind = access as usize;
        let chosen = TOGETHER.try_with(|t| t.get()[kind]).ok().flatten();
        let index = chosen.unwrap_or_else(|| {
            let n = self.slots.len();
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            (0..n)
                .map(|i| (start + i) % n)
                .min_by_key(|&i| self.slots[i].in_flight.load(Ordering::Relaxed))
                .expect("a set has a slot")
        });
        let _outside_a_scope = TOGETHER.try_with(|t| {
            let mut slots = t.get();
            slots[kind] = Some(index);
            t.set(slots);
        });
        &self.slots[index]
    }
}

#[derive(Default)]
struct Slot {
    conn: Mutex<Option<Arc<Conn>>>,
    /// One connection attempt at a time: the rest wait for its result.
    connecting: tokio::sync::Mutex<()>,
    in_flight: AtomicUsize,
}

impl Slot {
    /// The slot's connection if it is open.
    fn current(&self) -> Option<Arc<Conn>> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.as_ref().filter(|c| !c.client.is_closed()).cloned()
    }

    /// The open connection, connecting first when there is none.
    async fn connection(
        &self,
        config: &Config,
        tls: &MakeRustlsConnect,
        unnamed: bool,
    ) -> Result<Arc<Conn>, DbErr> {
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        let _turn = self.connecting.lock().await;
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        let (client, connection) = config
            .connect(tls.clone())
            .await
            .map_err(|e| DbErr::Conn(RuntimeErr::Internal(format!("PostgreSQL: {e}"))))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "a direct PostgreSQL connection closed");
            }
        });
        let conn = Arc::new(Conn {
            client,
            statements: Mutex::default(),
            unnamed,
        });
        *self.conn.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn.clone());
        Ok(conn)
    }

    /// Drops `conn` if it is still the slot's.
    fn forget(&self, conn: &Arc<Conn>) {
        let mut current = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            *current = None;
        }
    }
}

/// Counts a statement in flight on its slot while it lives.
struct Busy<'a>(&'a AtomicUsize);

impl<'a> Busy<'a> {
    fn new(in_flight: &'a AtomicUsize) -> Busy<'a> {
        in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(in_flight)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A statement or its wait ran past `QUERY_TIMEOUT` (`SERVICE_UNAVAILABLE`).
fn out_of_time() -> DbErr {
    DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)
}

/// Whether `e` says the connection has closed: it failed, or PostgreSQL
/// ended the session (class 08, or 57P01–57P03: terminated by an
/// administrator, a crash, a shutdown).
fn closed(e: &tokio_postgres::Error) -> bool {
    e.is_closed()
        || e.code().is_some_and(|code| {
            let code = code.code();
            code.starts_with("08") || code.starts_with("57P")
        })
}
