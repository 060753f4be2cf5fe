//! Read-only SQLite connections to one database file, reused, and the
//! statements built once and reused with another key.
//!
//! A read runs on the calling thread (an async worker) under a small
//! budget, `IN_PLACE_BUDGET`: a lookup or a page takes microseconds and
//! pays no thread switch. A read that outgrows the budget (a search or a
//! count scanning a table) is interrupted and run again from the start on
//! tokio's blocking pool, at most `cores` at once, until `QUERY_TIMEOUT`
//! from when it began; a search starts there. So a scan never holds a
//! thread that serves other requests for more than the budget, and never
//! runs past the deadline.
//! SQLite's progress handler enforces both limits from inside the
//! statement.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use sea_orm::{DbErr, Statement};
use uuid::Uuid;

use super::errors::{db_err, timed_out};
use super::rows;
use crate::db::statements::Keyed;
use crate::db::turns::Turns;

/// Idle connections kept; more are opened when more requests read at once
/// (a connection costs a file handle and SQLite's page cache).
const MAX_IDLE: usize = 16;
/// How long a read waits on SQLite's rare reader locks (WAL recovery).
const BUSY_TIMEOUT: Duration = Duration::from_millis(1000);
/// Distinct statement texts kept prepared per connection.
const STATEMENT_CACHE: usize = 128;
/// How long a read may hold the calling async worker.
const IN_PLACE_BUDGET: Duration = Duration::from_millis(1);
/// SQLite virtual-machine steps between two looks at the clock (tens of
/// nanoseconds each): about a dozen rows of a search, each bounded by the
/// stored text's cap, so a deadline holds within milliseconds.
const STEPS_PER_CHECK: i32 = 100;

pub struct Reads {
    path: PathBuf,
    idle: Mutex<Vec<Reader>>,
    /// `QUERY_TIMEOUT`.
    timeout: Duration,
    /// Turns on the blocking pool for reads over budget.
    long: Turns,
    /// The instant deadlines are counted from (see `Limit`).
    epoch: Instant,
    /// Statements built once and reused with another key.
    keyed: Keyed,
    /// The application's statement counter (see `AppContext::queries`).
    queries: Arc<AtomicU64>,
}

impl fmt::Debug for Reads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reads").field("path", &self.path).finish()
    }
}

impl Reads {
    /// Opens one connection at once, so a bad path fails at start rather
    /// than on a request.
    pub fn open(path: PathBuf, queries: Arc<AtomicU64>, timeout: Duration) -> Result<Reads, DbErr> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let reads = Reads {
            path,
            idle: Mutex::new(Vec::new()),
            timeout,
            long: Turns::new(cores),
            epoch: Instant::now(),
            keyed: Keyed::default(),
            queries,
        };
        let conn = reads.connect()?;
        reads.release(conn);
        Ok(reads)
    }

    /// Runs `statement` on an idle connection (or a new one), handing its
    /// column names and rows to `read`: on this thread within the budget,
    /// else on the blocking pool (see the module's notes).
    pub async fn run<T, R>(self: &Arc<Self>, statement: Statement, read: R) -> Result<T, DbErr>
    where
        T: Send + 'static,
        R: Fn(&[String], &mut rusqlite::Rows<'_>) -> Result<T, DbErr> + Send + 'static,
    {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let began = Instant::now();
        let deadline = began + self.timeout;
        // A search (`LIKE '%…%'`) may scan: it never starts on the thread
        // that serves other requests (API.md §8.9), since one row's
        // comparison is one virtual-machine step the budget cannot cut.
        let may_scan = statement.sql.contains(" LIKE ");
        if !may_scan
            && let Some(done) =
                self.attempt(&statement, deadline.min(began + IN_PLACE_BUDGET), &read)
        {
            return done;
        }
        let turn = self.long.take(deadline).await?;
        let reads = self.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            reads
                .attempt(&statement, deadline, &read)
                .unwrap_or_else(|| Err(timed_out()))
        })
        .await
        .map_err(|e| DbErr::Custom(format!("a long read failed: {e}")))?
    }

    /// One run of `statement`, interrupted at `deadline`: `None` when it
    /// was.
    fn attempt<T>(
        &self,
        statement: &Statement,
        deadline: Instant,
        read: &impl Fn(&[String], &mut rusqlite::Rows<'_>) -> Result<T, DbErr>,
    ) -> Option<Result<T, DbErr>> {
        let reader = match self.take() {
            Ok(reader) => reader,
            Err(e) => return Some(Err(e)),
        };
        reader.limit.arm(deadline.duration_since(self.epoch));
        let result = rows::execute(&reader.conn, statement, read);
        let interrupted = reader.limit.disarm();
        self.release(reader);
        (!interrupted).then_some(result)
    }

    /// `Keyed::get` on this database's statements.
    pub fn keyed<K: 'static>(
        &self,
        id: Uuid,
        build: impl FnOnce() -> Statement,
    ) -> Result<Statement, DbErr> {
        self.keyed.get::<K>(id, build)
    }

    fn connect(&self) -> Result<Reader, DbErr> {
        // Read-only: nothing can write through these connections.
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(db_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Without the query planner stability guarantee, SQLite 3.51 marks
        // a statement whose `LIMIT` (or `LIKE` pattern) is a bound parameter
        // to be compiled again every time that parameter is bound — every
        // execution of every cached page query. Plans made without peeking
        // at bound values are what the pool gets anyway.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(db_err)?;
        let limit = Arc::new(Limit::default());
        let (handler, epoch) = (limit.clone(), self.epoch);
        conn.progress_handler(
            STEPS_PER_CHECK,
            Some(move || handler.passed(epoch.elapsed())),
        )
        .map_err(db_err)?;
        Ok(Reader { conn, limit })
    }

    fn take(&self) -> Result<Reader, DbErr> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    fn release(&self, reader: Reader) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(reader);
        }
    }
}

/// A connection and the deadline its progress handler enforces.
struct Reader {
    conn: Connection,
    limit: Arc<Limit>,
}

/// The deadline of the statement a connection runs, in nanoseconds after
/// `Reads::epoch` (`u64::MAX`: none), and whether the handler stopped it.
struct Limit {
    until: AtomicU64,
    interrupted: AtomicBool,
}

impl Default for Limit {
    fn default() -> Limit {
        Limit {
            until: AtomicU64::new(u64::MAX),
            interrupted: AtomicBool::new(false),
        }
    }
}

impl Limit {
    fn arm(&self, until: Duration) {
        self.interrupted.store(false, Ordering::Relaxed);
        let nanos = u64::try_from(until.as_nanos()).unwrap_or(u64::MAX);
        self.until.store(nanos, Ordering::Relaxed);
    }

    /// Whether the statement was interrupted; no deadline from now on.
    fn disarm(&self) -> bool {
        self.until.store(u64::MAX, Ordering::Relaxed);
        self.interrupted.load(Ordering::Relaxed)
    }

    /// The progress handler: `true` interrupts the statement.
    fn passed(&self, now: Duration) -> bool {
        let now = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        let passed = now >= self.until.load(Ordering::Relaxed);
        if passed {
            self.interrupted.store(true, Ordering::Relaxed);
        }
        passed
    }
}
