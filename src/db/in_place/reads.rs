//! Read-only SQLite connections to one database file, reused, and the
//! statements built once and reused with another key.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use sea_orm::{DbErr, Statement, Value};
use uuid::Uuid;

use super::errors::db_err;
use super::rows;

/// Idle connections kept; more are opened when more requests read at once
/// (a connection costs a file handle and SQLite's page cache).
const MAX_IDLE: usize = 16;
/// How long a read waits on SQLite's rare reader locks (WAL recovery).
const BUSY_TIMEOUT: Duration = Duration::from_millis(1000);
/// Distinct statement texts kept prepared per connection.
const STATEMENT_CACHE: usize = 128;

pub struct Reads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Statements built once, by the type of the closure that builds them,
    /// with the nil UUID where the key goes (see `Hot::one_also_by_id`).
    keyed: Mutex<HashMap<TypeId, Statement>>,
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
    pub fn open(path: PathBuf, queries: Arc<AtomicU64>) -> Result<Reads, DbErr> {
        let reads = Reads {
            path,
            idle: Mutex::new(Vec::new()),
            keyed: Mutex::default(),
            queries,
        };
        let conn = reads.connect()?;
        reads.release(conn);
        Ok(reads)
    }

    /// Runs `statement` on an idle connection (or a new one), on this
    /// thread, handing its column names and rows to `read`.
    pub fn run<T>(
        &self,
        statement: &Statement,
        read: impl FnOnce(&[String], &mut rusqlite::Rows<'_>) -> Result<T, DbErr>,
    ) -> Result<T, DbErr> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let conn = self.take()?;
        let result = rows::execute(&conn, statement, read);
        self.release(conn);
        result
    }

    /// The statement `build` makes, with `id` bound in place of the nil
    /// UUID it was built with; built on first use only.
    pub fn keyed<K: 'static>(
        &self,
        id: Uuid,
        build: impl FnOnce() -> Statement,
    ) -> Result<Statement, DbErr> {
        let key = TypeId::of::<K>();
        let cached = self
            .keyed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let mut statement = match cached {
            Some(statement) => statement,
            None => {
                let statement = build();
                self.keyed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(key, statement.clone());
                statement
            }
        };
        let slot = statement
            .values
            .as_mut()
            .and_then(|v| {
                v.0.iter_mut()
                    .find(|v| **v == Value::Uuid(Some(Uuid::nil())))
            })
            .ok_or_else(|| DbErr::Custom("a keyed statement binds no key".into()))?;
        *slot = Value::Uuid(Some(id));
        Ok(statement)
    }

    fn connect(&self) -> Result<Connection, DbErr> {
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
        Ok(conn)
    }

    fn take(&self) -> Result<Connection, DbErr> {
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

    fn release(&self, conn: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}
