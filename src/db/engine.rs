//! What one database does differently from the other, behind one call each,
//! so services never ask which database they run on: PostgreSQL's
//! `pg_notify` with an insert, and its row locks (SQLite's write
//! transaction already holds the whole database).

use sea_orm::sea_query::InsertStatement;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, QuerySelect, Select, Statement};

/// Runs `insert` and, on PostgreSQL, in the same statement notifies
/// `channel` with the inserted row's `column` (text): delivered to every
/// listener when the change commits, never for one rolled back.
pub async fn insert_notifying(
    conn: &impl ConnectionTrait,
    insert: &InsertStatement,
    channel: &str,
    column: &str,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    if backend != DbBackend::Postgres {
        conn.execute(insert).await?;
        return Ok(());
    }
    let built = backend.build(insert);
    let sql = format!(
        "WITH recorded AS ({} RETURNING {column}) \
         SELECT pg_notify('{channel}', {column}::text) FROM recorded",
        built.sql
    );
    conn.execute_raw(Statement { sql, ..built }).await?;
    Ok(())
}

/// `select` with its rows locked until the transaction ends, where the
/// database locks rows (PostgreSQL); on SQLite the write transaction has
/// the database to itself already.
pub fn locked<E: EntityTrait>(conn: &impl ConnectionTrait, select: Select<E>) -> Select<E> {
    match conn.get_database_backend() {
        DbBackend::Postgres => select.lock_exclusive(),
        _ => select,
    }
}
