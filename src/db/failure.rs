//! A database's own failure, from a driver other than sqlx's (rusqlite in
//! place, tokio-postgres on the direct path), reported as sqlx reports its
//! own drivers' errors: so that one function, `sql_err`, classifies
//! constraint failures, and `AppError` recognises a statement cut off at
//! its deadline, on every path alike.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use sea_orm::sqlx::error::{DatabaseError, ErrorKind};
use sea_orm::{DbErr, RuntimeErr, SqlErr};
use tokio_postgres::error::SqlState;

/// A failure the database reported: its code (SQLite's extended result
/// code, PostgreSQL's SQLSTATE), the `ErrorKind` sqlx gives that code, and
/// its message.
#[derive(Debug)]
pub struct Failure {
    pub engine: &'static str,
    pub code: String,
    pub kind: ErrorKind,
    pub message: String,
    /// The constraint PostgreSQL names (SQLite names none).
    pub constraint: Option<String>,
}

impl Failure {
    /// As SeaORM wraps a failure from sqlx.
    pub fn into_db_err(self) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(
            sea_orm::sqlx::Error::Database(Box::new(self)),
        )))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.engine, self.message)
    }
}

impl std::error::Error for Failure {}

impl DatabaseError for Failure {
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

    fn constraint(&self) -> Option<&str> {
        self.constraint.as_deref()
    }

    fn kind(&self) -> ErrorKind {
        match self.kind {
            ErrorKind::UniqueViolation => ErrorKind::UniqueViolation,
            ErrorKind::ForeignKeyViolation => ErrorKind::ForeignKeyViolation,
            ErrorKind::NotNullViolation => ErrorKind::NotNullViolation,
            ErrorKind::CheckViolation => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// Which constraint a failed statement broke, if any: one classification,
/// read from sqlx's `ErrorKind`, for the pool's drivers, the in-place
/// connections and the direct path alike. Services call this rather than
/// `DbErr::sql_err`, which knows only sqlx's own drivers.
pub fn sql_err(e: &DbErr) -> Option<SqlErr> {
    let e = database_error(e)?;
    match e.kind() {
        ErrorKind::UniqueViolation => Some(SqlErr::UniqueConstraintViolation(e.message().into())),
        ErrorKind::ForeignKeyViolation => {
            Some(SqlErr::ForeignKeyConstraintViolation(e.message().into()))
        }
        _ => None,
    }
}

/// A unique constraint as each database reports it broken: PostgreSQL by
/// its name, SQLite by its columns (`UNIQUE constraint failed: t.a, t.b`,
/// the only form SQLite gives; it names no index).
pub struct Unique {
    pub postgres: &'static str,
    pub sqlite: &'static str,
}

/// Whether `e` is a unique violation of exactly `unique`: told apart by the
/// constraint, never by searching the message's prose.
pub fn violates(e: &DbErr, unique: &Unique) -> bool {
    let Some(e) = database_error(e) else {
        return false;
    };
    if e.kind() != ErrorKind::UniqueViolation {
        return false;
    }
    match e.constraint() {
        Some(name) => name == unique.postgres,
        None => e
            .message()
            .strip_prefix("UNIQUE constraint failed: ")
            .is_some_and(|columns| columns == unique.sqlite),
    }
}

fn database_error(e: &DbErr) -> Option<&(dyn DatabaseError + 'static)> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = e else {
        return None;
    };
    match &**e {
        sea_orm::sqlx::Error::Database(e) => Some(&**e),
        _ => None,
    }
}

/// A tokio-postgres error as SeaORM wraps sqlx's, so that `db::sql_err`
/// and `AppError` classify it alike (PostgreSQL's own failures keep their
/// SQLSTATE).
pub fn db_err(e: tokio_postgres::Error) -> DbErr {
    let Some(db) = e.as_db_error() else {
        return DbErr::Query(RuntimeErr::Internal(format!("PostgreSQL: {e}")));
    };
    let code = db.code();
    let kind = match code {
        c if *c == SqlState::UNIQUE_VIOLATION => ErrorKind::UniqueViolation,
        c if *c == SqlState::FOREIGN_KEY_VIOLATION => ErrorKind::ForeignKeyViolation,
        c if *c == SqlState::NOT_NULL_VIOLATION => ErrorKind::NotNullViolation,
        c if *c == SqlState::CHECK_VIOLATION => ErrorKind::CheckViolation,
        _ => ErrorKind::Other,
    };
    Failure {
        engine: "PostgreSQL",
        code: code.code().to_owned(),
        kind,
        message: db.message().to_owned(),
        constraint: db.constraint().map(str::to_owned),
    }
    .into_db_err()
}
