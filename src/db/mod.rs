//! Connecting to SQLite or PostgreSQL, migrations, and write transactions
//! that behave alike on both; `Hot`, the one API for hot statements outside
//! transactions (in place on a SQLite file, `direct` on PostgreSQL), and
//! `sql_err`, the one classification of constraint errors.

mod alone;
mod columns;
mod connection;
mod direct;
mod engine;
mod failure;
mod handle;
mod hot;
mod in_place;
mod listener;
mod pg_conn;
mod pg_params;
mod pg_rows;
mod statements;
pub mod text_search;
pub mod tls;
mod turns;

pub use alone::Alone;
pub use connection::SLOW_QUERY;
use connection::{CONNECT_TIMEOUT, with_statement_timeout};
pub use engine::{insert_notifying, locked};
pub use failure::{Unique, sql_err, violates};
pub use handle::Db;
/// A connected pool, as `connect` opens it, before `Db::open` takes it.
pub type Pool = DatabaseConnection;
pub use hot::Hot;
pub use listener::Listener;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

/// Any fixed number: instances starting together queue on it in PostgreSQL.
const MIGRATION_LOCK_KEY: i64 = 0x6175_7468_716c; // "authql"

/// Connections in the application's pool. On PostgreSQL the hot statements
/// have connections of their own (`DIRECT_CONNECTIONS`), so the pool serves
/// transactions and the rest.
const SQLITE_POOL: u32 = 8;
const POSTGRES_POOL: u32 = 8;

/// The application's pool. On PostgreSQL every statement on it is cut off
/// after `statement_timeout` (SQLSTATE 57014, which `AppError` reports as
/// `SERVICE_UNAVAILABLE`); `None` (the CLI's bulk import) sets no limit.
/// `pooled` (`DATABASE_POOLER=transaction`): a pooler keeps no session
/// setting, so the limit is set in each transaction (`Db::write`), and
/// sqlx caches no statement (a cached name would be looked for on whatever
/// server connection the pooler gives the next transaction).
pub async fn connect(
    url: &str,
    statement_timeout: Option<Duration>,
    pooled: bool,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = options(url, None);
    match (statement_timeout, pooled) {
        // No `extra_float_digits` either: PgBouncer refuses a startup
        // parameter it does not know unless told to ignore it (no column
        // here is a float).
        (_, true) => {
            options
                .map_sqlx_postgres_opts(|o| o.statement_cache_capacity(0).extra_float_digits(None));
        }
        (Some(timeout), false) => {
            options.map_sqlx_postgres_opts(move |o| with_statement_timeout(o, timeout));
        }
        (None, false) => {}
    }
    Database::connect(options).await
}

/// Connections of the direct path on PostgreSQL (`Hot`), each taking the
/// statements of many requests at once. PostgreSQL runs on the same cores,
/// and the kernel shares them out by thread: measured on 2 cores (issue
/// 23), 2 list connections left PostgreSQL's backends always runnable and
/// the server's threads idling for them (S3 5–9 % slower than 3), while 4
/// lookup connections switched more than 3 for nothing (S1, S2).
const DIRECT_CONNECTIONS: direct::Sizes = direct::Sizes {
    lookups: 3,
    lists: 3,
    writes: 4,
    searches: 2,
};

fn options(url: &str, max_connections: Option<u32>) -> ConnectOptions {
    let mut opt = ConnectOptions::new(url.to_owned());
    // No ping before each checkout (sqlx's default): it doubles the round
    // trips of every query. A broken connection fails its query instead, and
    // the pool replaces it.
    opt.sqlx_logging(false)
        .test_before_acquire(false)
        .connect_timeout(CONNECT_TIMEOUT)
        .acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        // WAL lets readers run beside the one writer; the busy timeout makes
        // a second writer wait instead of failing with SQLITE_BUSY.
        // Each SQLite connection is a thread of sqlx's; more of them than a
        // few per core only adds context switches (WAL readers do not block).
        opt.max_connections(max_connections.unwrap_or(SQLITE_POOL))
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
    } else {
        opt.max_connections(max_connections.unwrap_or(POSTGRES_POOL))
            .min_connections(1);
    }
    opt
}

/// A transaction for read-then-write work. On SQLite it starts `IMMEDIATE`,
/// taking the write lock up front: a deferred transaction that reads and
/// then writes fails with SQLITE_BUSY when another writer got there first.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}

/// Behind a transaction pooler: what each transaction sets up.
#[derive(Clone, Copy, Debug)]
pub struct Pooled {
    /// `QUERY_TIMEOUT`; `None` for the CLI's bulk import.
    pub statement_timeout: Option<Duration>,
}

/// `begin_write` behind a transaction pooler: the transaction holds one
/// server connection until it ends, which may have served any client
/// before. sqlx names each statement it prepares (`sqlx_s_1`, … per client
/// connection, uncached here), so the statements others left on it are
/// dropped first, and the statement limit is set for this transaction.
pub async fn begin_pooled(
    db: &DatabaseConnection,
    pooled: Pooled,
) -> Result<DatabaseTransaction, DbErr> {
    let txn = begin_write(db).await?;
    let limit = match pooled.statement_timeout {
        Some(timeout) => format!(
            "; SET LOCAL statement_timeout = {}",
            timeout.as_millis().max(1)
        ),
        None => String::new(),
    };
    txn.execute_unprepared(&format!("DEALLOCATE ALL{limit}"))
        .await?;
    Ok(txn)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrateCommand {
    Up,
    Down,
    Status,
    Fresh,
}

/// Runs a migration command. On PostgreSQL it holds an advisory lock on a
/// connection of its own, so instances starting together migrate one at a time.
pub async fn migrate(url: &str, command: MigrateCommand) -> Result<(), DbErr> {
    let db = Database::connect(options(url, Some(1))).await?;
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    if postgres {
        db.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"),
        ))
        .await?;
    }
    let result = match command {
        MigrateCommand::Up => Migrator::up(&db, None).await,
        MigrateCommand::Down => Migrator::down(&db, Some(1)).await,
        MigrateCommand::Status => Migrator::status(&db).await,
        MigrateCommand::Fresh => Migrator::fresh(&db).await,
    };
    if postgres {
        db.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"),
        ))
        .await?;
    }
    db.close().await?;
    result
}

/// The current time, truncated to microseconds: PostgreSQL keeps no more,
/// and a value that round-trips unchanged keeps comparisons and cursors exact.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// A raw statement written with `?` placeholders, numbered `$1, $2 …` for
/// PostgreSQL, so one SQL text serves both backends.
pub fn statement(
    backend: DbBackend,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}
