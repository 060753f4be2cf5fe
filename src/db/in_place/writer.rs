//! Single-row inserts on a SQLite file, committed in groups.
//!
//! An insert of a product touches its table and five indexes, and SQLite's
//! WAL appends every page a transaction dirtied: about 24 KiB per one-row
//! commit. Through sqlx that is one commit per insert plus its worker-thread
//! round trips, and it was the whole cost of a create mutation (the
//! benchmark's S5). On a SQLite file, inserts go instead to one writer
//! thread of our own that takes every insert waiting for it and commits them
//! together in one transaction (group commit): concurrent inserts share the
//! pages they dirty, and the thread hops are paid once per group.
//!
//! What keeps it sound:
//! - A caller hears back only after the group's `COMMIT` succeeded, so the
//!   row is durable (`synchronous=NORMAL`, as on the pool) and visible to
//!   every connection and instance when `insert` returns.
//! - Each insert runs under its own savepoint: one that fails (a foreign key
//!   gone, a unique value taken) is rolled back alone and reported to its
//!   own caller, with SQLite's code, so `db::sql_err` classifies it as it
//!   does the pool's errors.
//! - The thread is not an async worker, so it may wait: `BEGIN IMMEDIATE`
//!   queues behind other writers with a busy timeout.
//! - The WAL is checkpointed by a thread of its own, not on commit. SQLite's
//!   automatic checkpoint runs inside the commit that crosses 1,000 WAL
//!   pages and fsyncs the database file there, so every caller in that
//!   group waited for it: under a stream of creates that was the p99
//!   (27 ms against 9 ms without it, and a third of the throughput). The
//!   writer nudges the checkpointer after each commit; it runs a `PASSIVE`
//!   checkpoint (which never blocks writers or readers) at most every
//!   `CHECKPOINT_EVERY`, so the WAL stays small while writes go on.
//! - Foreign keys are enforced, as on the pool.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sea_orm::{
    ActiveModelTrait, DbBackend, DbErr, EntityTrait, IntoActiveModel, QueryTrait, Statement,
    StatementBuilder, TryIntoModel, Value,
};
use tokio::sync::oneshot;

use super::errors::db_err;
use super::rows::{execute, fields, model};

/// Most inserts committed together; more wait for the next group.
const MAX_GROUP: usize = 128;
/// How long the writer waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Least time between two checkpoints while inserts keep coming.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// An insert, run inside the group's transaction: whether it succeeded,
/// what is told the commit's outcome and answers the caller, and what it
/// leaves for the end of the group (`Later`).
type Job = Box<dyn FnOnce(&Connection) -> (bool, Reply, Option<Statement>) + Send>;
type Reply = Box<dyn FnOnce(Result<(), &DbErr>) + Send>;

/// The sending side of the group-commit thread; the thread ends when the
/// last clone is dropped.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub fn start(path: &Path) -> Result<Writer, DbErr> {
        let conn = open_read_write(path)?;
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;",
        )
        .map_err(db_err)?;
        let checkpointer = open_read_write(path)?;
        let (nudge, nudged) = mpsc::sync_channel::<()>(1);
        spawn("authql-sqlite-checkpoint", move || {
            checkpoint_when_nudged(&checkpointer, &nudged)
        })?;
        let (jobs, queue) = mpsc::channel::<Job>();
        spawn("authql-sqlite-writer", move || {
            supervised(&conn, || run(&conn, &queue, &nudge))
        })?;
        Ok(Writer { jobs })
    }

    /// Inserts one row and returns it as stored, once committed. `later`: a
    /// statement run at the end of the group, after every insert's
    /// savepoint, with the row's rowid as its first value — FTS5 writes
    /// what it holds to disk at each savepoint, so an index row added inside
    /// one cost a segment per product (the trigger did: `createProduct`
    /// 12–15 % dearer); added after them, the group's rows go in one.
    pub async fn insert<A, E>(&self, row: A, later: Option<Later>) -> Result<E::Model, DbErr>
    where
        A: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + 'static,
        E: EntityTrait<ActiveModel = A>,
        E::Model: IntoActiveModel<A>,
        A: TryIntoModel<E::Model>,
    {
        let mut query = E::insert(row).into_query();
        query.returning_all();
        let statement = StatementBuilder::build(&query, &DbBackend::Sqlite);
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let inserted = insert_returning::<E>(conn, &statement);
            let ok = inserted.is_ok();
            let then = later
                .filter(|_| ok)
                .map(|later| later.with_rowid(conn.last_insert_rowid()));
            let reply: Reply = Box::new(move |committed| {
                let outcome = match (inserted, committed) {
                    (Ok(model), Ok(())) => Ok(model),
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(e)) => Err(DbErr::Custom(format!("SQLite commit: {e}"))),
                };
                let _ = tx.send(outcome);
            });
            (ok, reply, then)
        });
        self.jobs
            .send(job)
            .map_err(|_| DbErr::Custom("the SQLite writer has stopped".into()))?;
        rx.await
            .map_err(|_| DbErr::Custom("the SQLite writer dropped an insert".into()))?
    }
}

fn open_read_write(path: &Path) -> Result<Connection, DbErr> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    Ok(conn)
}

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Result<(), DbErr> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(body)
        .map(|_| ())
        .map_err(|e| DbErr::Custom(format!("starting {name}: {e}")))
}

/// The checkpoint thread: after each nudge, copies the WAL's committed
/// pages into the database file, then rests, so a burst of commits costs
/// one checkpoint. It ends when the writer thread (the nudger) is gone.
fn checkpoint_when_nudged(conn: &Connection, nudged: &mpsc::Receiver<()>) {
    while nudged.recv().is_ok() {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "could not checkpoint the SQLite WAL");
        }
        std::thread::sleep(CHECKPOINT_EVERY);
    }
}

/// The writer thread: one transaction per group of waiting inserts. It ends
/// when every `Writer` (and so every sender) is gone.
/// Keeps the writer alive through a panic (API.md §8.1: background work
/// survives faults): the group in flight is rolled back, its callers hear
/// their inserts were dropped, and the thread goes on with the next group.
/// It ends only when every sender is gone.
fn supervised(conn: &Connection, run: impl Fn()) {
    while std::panic::catch_unwind(std::panic::AssertUnwindSafe(&run)).is_err() {
        tracing::error!("the SQLite writer panicked; its group was rolled back, it goes on");
        let _ = conn.execute_batch("ROLLBACK");
    }
}

fn run(conn: &Connection, queue: &mpsc::Receiver<Job>, nudge: &mpsc::SyncSender<()>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let began = conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err);
        let mut replies = Vec::with_capacity(group.len());
        let mut later = Vec::new();
        match &began {
            // The callers hear "dropped" when their jobs are dropped unrun.
            Err(e) => tracing::warn!(error = %e, "could not begin a group of inserts"),
            Ok(()) => {
                for job in group {
                    let (reply, then) = savepoint(conn, job);
                    replies.push(reply);
                    later.extend(then);
                }
            }
        }
        // What the inserts left for after their savepoints; one failing
        // fails the group (its rows must not be stored without it).
        let began = began.and_then(|()| {
            later.iter().try_for_each(|statement| {
                execute(conn, statement, |_, rows| {
                    while rows.next().map_err(db_err)?.is_some() {}
                    Ok(())
                })
            })
        });
        let committed = began.and_then(|()| conn.execute_batch("COMMIT").map_err(db_err));
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
            tracing::warn!(error = ?committed, "a group of inserts could not be committed");
        }
        // Full means a checkpoint is already due: this commit is covered.
        let _ = nudge.try_send(());
        for reply in replies {
            reply(committed.as_ref().map(|_| ()));
        }
    }
}

/// Runs one job under a savepoint, undoing just its changes if it fails.
fn savepoint(conn: &Connection, job: Job) -> (Reply, Option<Statement>) {
    let marked = conn.execute_batch("SAVEPOINT one_insert").is_ok();
    let (ok, reply, then) = job(conn);
    if marked {
        if !ok {
            let _ = conn.execute_batch("ROLLBACK TO one_insert");
        }
        let _ = conn.execute_batch("RELEASE one_insert");
    }
    (reply, then)
}

/// A statement an insert leaves for the end of its group: `sql` takes the
/// row's rowid, then `values`.
pub struct Later {
    pub sql: String,
    pub values: Vec<Value>,
}

impl Later {
    fn with_rowid(self, rowid: i64) -> Statement {
        let mut values = vec![Value::BigInt(Some(rowid))];
        values.extend(self.values);
        Statement::from_sql_and_values(DbBackend::Sqlite, self.sql, values)
    }
}

fn insert_returning<E: EntityTrait>(
    conn: &Connection,
    statement: &sea_orm::Statement,
) -> Result<E::Model, DbErr>
where
    E::ActiveModel: TryIntoModel<E::Model>,
{
    execute(conn, statement, |names, rows| {
        let columns = fields::<E>(names, "");
        let row = rows
            .next()
            .map_err(db_err)?
            .ok_or(DbErr::RecordNotInserted)?;
        let inserted = model::<E>(row, &columns)?;
        // Step to the end, so the statement is done before the next one.
        while rows.next().map_err(db_err)?.is_some() {}
        Ok(inserted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job that panics (a bug in a row's conversion, say) ends its own
    /// group only: the writer goes on, and the next insert commits.
    #[tokio::test]
    async fn the_writer_survives_a_panicking_job() {
        let dir = std::env::temp_dir().join(format!("authql-writer-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (k INTEGER);")
            .unwrap();
        let writer = Writer::start(&path).unwrap();
        writer
            .jobs
            .send(Box::new(
                |_: &Connection| -> (bool, Reply, Option<Statement>) { panic!("a bad job") },
            ))
            .unwrap();
        // Jobs grouped with the panicking one are dropped with it (their
        // callers hear so); a later group commits.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let (tx, rx) = oneshot::channel();
            let job: Job = Box::new(move |conn: &Connection| {
                let ok = conn.execute_batch("INSERT INTO t VALUES (1)").is_ok();
                let reply: Reply = Box::new(move |committed| {
                    let _ = tx.send(ok && committed.is_ok());
                });
                (ok, reply, None)
            });
            writer.jobs.send(job).unwrap();
            if rx.await == Ok(true) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the writer never came back"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let rows: i64 = Connection::open(&path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
