//! SQLite errors from the in-place connections, as `db::failure`s, so that
//! `db::sql_err` classifies their constraint failures as the pool's.

use rusqlite::ErrorCode;
use sea_orm::DbErr;
use sea_orm::RuntimeErr;
use sea_orm::sqlx::error::ErrorKind;

use crate::db::failure::Failure;

/// SQLite's extended codes for constraint failures, as sqlx maps them.
fn kind_of(extended: i32) -> ErrorKind {
    use rusqlite::ffi;
    match extended {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            ErrorKind::UniqueViolation
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
        ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
        ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
        _ => ErrorKind::Other,
    }
}

/// A rusqlite error as a SeaORM one. A failure SQLite reported keeps its
/// code, wrapped as sqlx wraps its own drivers' errors; the rest (a value
/// of the wrong type, say) is internal.
pub fn db_err(e: rusqlite::Error) -> DbErr {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => Failure {
            engine: "SQLite",
            code: failure.extended_code.to_string(),
            kind: match failure.code == ErrorCode::ConstraintViolation {
                true => kind_of(failure.extended_code),
                false => ErrorKind::Other,
            },
            message: message.unwrap_or_else(|| failure.to_string()),
            constraint: None,
        }
        .into_db_err(),
        other => DbErr::Query(RuntimeErr::Internal(format!("SQLite: {other}"))),
    }
}

/// A read stopped at its deadline (`QUERY_TIMEOUT`): SQLite's own error
/// for an interrupted statement, which `AppError` reports as
/// `SERVICE_UNAVAILABLE`.
pub fn timed_out() -> DbErr {
    db_err(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERRUPT),
        Some("the statement ran past QUERY_TIMEOUT".into()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::failure::sql_err;
    use sea_orm::SqlErr;

    #[test]
    fn constraint_failures_are_classified_like_the_pools() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; CREATE TABLE t (k TEXT UNIQUE); \
             CREATE TABLE c (k TEXT REFERENCES t (k)); INSERT INTO t VALUES ('a');",
        )
        .unwrap();
        let e = db_err(conn.execute("INSERT INTO t VALUES ('a')", []).unwrap_err());
        assert!(matches!(
            sql_err(&e),
            Some(SqlErr::UniqueConstraintViolation(_))
        ));
        let e = db_err(conn.execute("INSERT INTO c VALUES ('b')", []).unwrap_err());
        assert!(matches!(
            sql_err(&e),
            Some(SqlErr::ForeignKeyConstraintViolation(_))
        ));
        let e = db_err(conn.execute("SELECT nope FROM t", []).unwrap_err());
        assert!(sql_err(&e).is_none());
    }
}
