//! SQLite errors from the in-place connections, reported as sqlx reports
//! them, so that one function (`sql_err`) classifies constraint failures
//! for the pool and the in-place paths alike.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use rusqlite::ErrorCode;
use sea_orm::sqlx::error::{DatabaseError, ErrorKind};
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// A SQLite failure: its message and extended result code, from which
/// `kind` gives the `ErrorKind` sqlx gives that code.
#[derive(Debug)]
struct SqliteFailure {
    code: String,
    extended: i32,
    constraint: bool,
    message: String,
}

impl fmt::Display for SqliteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SQLite: {}", self.message)
    }
}

impl std::error::Error for SqliteFailure {}

impl DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(&self.code))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        if self.constraint {
            kind_of(self.extended)
        } else {
            ErrorKind::Other
        }
    }
}

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
        rusqlite::Error::SqliteFailure(failure, message) => {
            let failure = SqliteFailure {
                code: failure.extended_code.to_string(),
                extended: failure.extended_code,
                constraint: failure.code == ErrorCode::ConstraintViolation,
                message: message.unwrap_or_else(|| failure.to_string()),
            };
            DbErr::Query(RuntimeErr::SqlxError(Arc::new(
                sea_orm::sqlx::Error::Database(Box::new(failure)),
            )))
        }
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

/// Which constraint a failed statement broke, if any: one classification,
/// read from sqlx's `ErrorKind`, for the pool's drivers and the in-place
/// connections alike. Services call this rather than `DbErr::sql_err`,
/// which knows only sqlx's own drivers.
pub fn sql_err(e: &DbErr) -> Option<SqlErr> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = e else {
        return None;
    };
    let sea_orm::sqlx::Error::Database(e) = &**e else {
        return None;
    };
    match e.kind() {
        ErrorKind::UniqueViolation => Some(SqlErr::UniqueConstraintViolation(e.message().into())),
        ErrorKind::ForeignKeyViolation => {
            Some(SqlErr::ForeignKeyConstraintViolation(e.message().into()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
