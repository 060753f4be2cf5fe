//! Reads on the request path, and on SQLite run in place.
//!
//! sqlx gives every SQLite connection a thread of its own and hands each
//! statement and each row across channels to it: a one-row primary-key
//! lookup, a few microseconds inside SQLite, costs several thread switches
//! and well over 100 µs of CPU. That was most of the price of an
//! authenticated request (the benchmark's S1), so the hot reads — the
//! per-request session check, pages of products and users, their owners and
//! counts — go through `Reader`: the same sea-orm queries, built by the
//! same code, run on plain SQLite connections on the calling thread and are
//! decoded into the same entity models. On PostgreSQL (and an in-memory
//! SQLite database, which other connections cannot share) `Reader` runs them
//! on the pool as usual.
//!
//! Why this is safe:
//! - The connections are opened read-only, so nothing can write through
//!   them; writes and transactions stay on sqlx's pool.
//! - In WAL mode readers never wait for the writer, and each statement runs
//!   in its own implicit read transaction, which ends when the statement is
//!   reset (rusqlite resets cached statements when they are dropped), so a
//!   read sees everything committed before it started, as on the pool.
//! - Values are bound exactly as sqlx stores them (UUIDs as 16-byte blobs,
//!   timestamps as RFC 3339 text, booleans as integers), and columns are
//!   decoded by their declared type and set on the entity's `ActiveModel`,
//!   which checks every value's type; the integration tests run through it.
//!
//! Only bounded statements belong here (an index lookup, a page, a count
//! over an index): they block the async worker thread while they run.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::config::DbConfig;
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags, Row};
use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ColumnType, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    PaginatorTrait, QuerySelect, QueryTrait, Select, SelectTwo, Statement, StatementBuilder,
    TryIntoModel, Value,
};
use uuid::Uuid;

/// Idle connections kept; more are opened when more requests read at once
/// (a connection costs a file handle and SQLite's page cache).
const MAX_IDLE: usize = 16;
/// How long a read waits on SQLite's rare reader locks (WAL recovery).
const BUSY_TIMEOUT: Duration = Duration::from_millis(1000);
/// Distinct statement texts kept prepared per connection.
const STATEMENT_CACHE: usize = 128;

/// A row and its related row, if the outer join found one.
pub type Pair<A, B> = (<A as EntityTrait>::Model, Option<<B as EntityTrait>::Model>);

/// Where hot reads go: in place on a SQLite file, else the pool.
#[derive(Clone)]
pub enum Reader {
    InPlace(Arc<SqliteReader>),
    Pool(DatabaseConnection),
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reader::InPlace(r) => f.debug_tuple("InPlace").field(&r.path).finish(),
            Reader::Pool(_) => f.write_str("Pool"),
        }
    }
}

impl Reader {
    /// In place when `db` is SQLite on a file; `queries` counts the
    /// statements run in place, as `db`'s metric callback does for the pool.
    pub fn new(
        url: &str,
        db: &DatabaseConnection,
        queries: Arc<AtomicU64>,
    ) -> Result<Reader, DbErr> {
        let Some(path) = sqlite_file(url, db) else {
            return Ok(Reader::Pool(db.clone()));
        };
        let reader = SqliteReader {
            path,
            idle: Mutex::new(Vec::new()),
            keyed: Mutex::default(),
            queries,
        };
        // Open one now, so a bad path fails at start rather than on a request.
        let conn = reader.open()?;
        reader.release(conn);
        Ok(Reader::InPlace(Arc::new(reader)))
    }

    pub async fn all<E>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        match self {
            Reader::Pool(db) => select.all(db).await,
            Reader::InPlace(r) => r.run(&select.build(DbBackend::Sqlite), |shape, rows| {
                let fields = fields::<E>(shape, "");
                let mut out = Vec::new();
                while let Some(row) = rows.next().map_err(db_err)? {
                    out.push(model::<E>(row, &fields)?);
                }
                Ok(out)
            }),
        }
    }

    pub async fn one<E>(&self, select: Select<E>) -> Result<Option<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        Ok(self.all(select.limit(1)).await?.into_iter().next())
    }

    /// A row and its related row (`find_also_related`), `None` when absent.
    pub async fn one_also<A, B>(&self, select: SelectTwo<A, B>) -> Result<Option<Pair<A, B>>, DbErr>
    where
        A: EntityTrait,
        B: EntityTrait,
        A::ActiveModel: TryIntoModel<A::Model>,
        B::ActiveModel: TryIntoModel<B::Model>,
    {
        match self {
            Reader::Pool(db) => select.one(db).await,
            Reader::InPlace(r) => r.run(
                &select.limit(1).build(DbBackend::Sqlite),
                read_one_also::<A, B>,
            ),
        }
    }

    /// `one_also` of the row whose key is `id`, where `select` builds that
    /// query for any key. In place, the statement is built once per query
    /// (keyed by the type of `select`, a closure) and only the key changes:
    /// building the session check afresh was a tenth of the CPU of an
    /// authenticated request.
    pub async fn one_also_by_id<A, B, F>(
        &self,
        id: Uuid,
        select: F,
    ) -> Result<Option<Pair<A, B>>, DbErr>
    where
        A: EntityTrait,
        B: EntityTrait,
        A::ActiveModel: TryIntoModel<A::Model>,
        B::ActiveModel: TryIntoModel<B::Model>,
        F: Fn(Uuid) -> SelectTwo<A, B> + 'static,
    {
        match self {
            Reader::Pool(_) => self.one_also(select(id)).await,
            Reader::InPlace(r) => {
                let statement =
                    r.keyed::<F>(id, || select(Uuid::nil()).limit(1).build(DbBackend::Sqlite))?;
                r.run(&statement, read_one_also::<A, B>)
            }
        }
    }

    /// How many rows `select` matches, ignoring its order and limit.
    pub async fn count<E>(&self, select: Select<E>) -> Result<u64, DbErr>
    where
        E: EntityTrait,
        E::Model: Sync,
    {
        match self {
            Reader::Pool(db) => select.count(db).await,
            Reader::InPlace(r) => {
                let inner = select
                    .into_query()
                    .clear_order_by()
                    .reset_limit()
                    .reset_offset()
                    .to_owned();
                let query = SelectStatement::new()
                    .expr(Expr::cust("COUNT(*)"))
                    .from_subquery(inner, "sub_query")
                    .to_owned();
                r.run(
                    &StatementBuilder::build(&query, &DbBackend::Sqlite),
                    |_, rows| {
                        let n = match rows.next().map_err(db_err)? {
                            Some(row) => row.get::<_, i64>(0).map_err(db_err)?,
                            None => 0,
                        };
                        Ok(u64::try_from(n).unwrap_or(0))
                    },
                )
            }
        }
    }
}

/// The file behind `db` when it is SQLite and other connections can open
/// it too (not an in-memory database).
pub(super) fn sqlite_file(url: &str, db: &DatabaseConnection) -> Option<PathBuf> {
    (db.get_database_backend() == DbBackend::Sqlite)
        .then(|| file_of(url))
        .flatten()
}

fn file_of(url: &str) -> Option<PathBuf> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    let name = path.to_string_lossy();
    (!name.is_empty() && !name.starts_with("file:")).then(|| path.to_owned())
}

/// Read-only SQLite connections to one database file, reused.
pub struct SqliteReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Statements built once, by the type of the closure that builds them,
    /// with the nil UUID where the key goes (see `one_also_by_id`).
    keyed: Mutex<HashMap<TypeId, Statement>>,
    /// The application's statement counter (see `AppContext::queries`).
    queries: Arc<AtomicU64>,
}

impl SqliteReader {
    /// The statement `build` makes, with `id` bound in place of the nil
    /// UUID it was built with; built on first use only.
    fn keyed<K: 'static>(
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

    fn open(&self) -> Result<Connection, DbErr> {
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
            None => self.open(),
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

    fn run<T>(
        &self,
        statement: &Statement,
        read: impl FnOnce(&[String], &mut rusqlite::Rows<'_>) -> Result<T, DbErr>,
    ) -> Result<T, DbErr> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let conn = self.take()?;
        let result = execute(&conn, statement, read);
        self.release(conn);
        result
    }
}

/// Prepares (or reuses) `statement` on `conn`, binds its values, and hands
/// its column names and rows to `read`.
pub(super) fn execute<T>(
    conn: &Connection,
    statement: &Statement,
    read: impl FnOnce(&[String], &mut rusqlite::Rows<'_>) -> Result<T, DbErr>,
) -> Result<T, DbErr> {
    let mut stmt = conn.prepare_cached(&statement.sql).map_err(db_err)?;
    if let Some(values) = &statement.values {
        for (i, value) in values.0.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, bind(value)?)
                .map_err(db_err)?;
        }
    }
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = stmt.raw_query();
    read(&names, &mut rows)
}

/// The first row of a `SelectTwo` as its two models; the second is `None`
/// when the outer join found nothing.
fn read_one_also<A, B>(
    names: &[String],
    rows: &mut rusqlite::Rows<'_>,
) -> Result<Option<Pair<A, B>>, DbErr>
where
    A: EntityTrait,
    B: EntityTrait,
    A::ActiveModel: TryIntoModel<A::Model>,
    B::ActiveModel: TryIntoModel<B::Model>,
{
    // sea-orm's aliases for the two sides of a `SelectTwo`.
    let a = fields::<A>(names, "A_");
    let b = fields::<B>(names, "B_");
    let Some(row) = rows.next().map_err(db_err)? else {
        return Ok(None);
    };
    let absent = b
        .iter()
        .all(|c| matches!(row.get_ref(c.index), Ok(ValueRef::Null)));
    let related = if absent {
        None
    } else {
        Some(model::<B>(row, &b)?)
    };
    Ok(Some((model::<A>(row, &a)?, related)))
}

/// A result column that fills a field of entity `E`.
pub(super) struct Field<E: EntityTrait> {
    index: usize,
    column: E::Column,
    kind: Kind,
}

/// The result columns named (after `prefix`) like `E`'s columns.
pub(super) fn fields<E: EntityTrait>(names: &[String], prefix: &str) -> Vec<Field<E>> {
    names
        .iter()
        .enumerate()
        .filter_map(|(index, name)| {
            let column = E::Column::from_str(name.strip_prefix(prefix)?).ok()?;
            Some(Field {
                index,
                column,
                kind: Kind::of(column.def().get_column_type()),
            })
        })
        .collect()
}

/// One row as `E`'s model: every value is type-checked by the active
/// model, and a missing column fails the conversion.
pub(super) fn model<E: EntityTrait>(row: &Row<'_>, fields: &[Field<E>]) -> Result<E::Model, DbErr>
where
    E::ActiveModel: TryIntoModel<E::Model>,
{
    let mut active = <E::ActiveModel as ActiveModelTrait>::default();
    for f in fields {
        let value = f.kind.decode(row.get_ref(f.index).map_err(db_err)?)?;
        active.try_set(f.column, value)?;
    }
    active.try_into_model()
}

/// Binds a value the way sqlx's SQLite driver does, so comparisons with
/// stored values (timestamps in cursors, UUID keys) agree byte for byte.
pub(super) fn bind(value: &Value) -> Result<ToSqlOutput<'_>, DbErr> {
    fn int(v: Option<i64>) -> ToSqlOutput<'static> {
        ToSqlOutput::Owned(v.map_or(SqlValue::Null, SqlValue::Integer))
    }
    fn text(v: Option<String>) -> ToSqlOutput<'static> {
        ToSqlOutput::Owned(v.map_or(SqlValue::Null, SqlValue::Text))
    }
    Ok(match value {
        Value::Bool(v) => int(v.map(i64::from)),
        Value::TinyInt(v) => int(v.map(i64::from)),
        Value::SmallInt(v) => int(v.map(i64::from)),
        Value::Int(v) => int(v.map(i64::from)),
        Value::BigInt(v) => int(*v),
        Value::TinyUnsigned(v) => int(v.map(i64::from)),
        Value::SmallUnsigned(v) => int(v.map(i64::from)),
        Value::Unsigned(v) => int(v.map(i64::from)),
        Value::BigUnsigned(v) => match v {
            Some(v) => int(Some(i64::try_from(*v).map_err(|_| {
                DbErr::Custom("unsigned value out of SQLite's range".into())
            })?)),
            None => int(None),
        },
        Value::Float(v) => {
            ToSqlOutput::Owned(v.map_or(SqlValue::Null, |v| SqlValue::Real(v.into())))
        }
        Value::Double(v) => ToSqlOutput::Owned(v.map_or(SqlValue::Null, SqlValue::Real)),
        Value::String(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::String(None) => text(None),
        Value::Char(v) => text(v.map(String::from)),
        Value::Enum(e) => match e {
            sea_orm::sea_query::OptionEnum::Some(e) => text(Some(e.value.to_string())),
            sea_orm::sea_query::OptionEnum::None(_) => text(None),
        },
        Value::Bytes(Some(b)) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        Value::Bytes(None) => ToSqlOutput::Owned(SqlValue::Null),
        Value::Uuid(Some(u)) => ToSqlOutput::Borrowed(ValueRef::Blob(u.as_bytes())),
        Value::Uuid(None) => ToSqlOutput::Owned(SqlValue::Null),
        Value::ChronoDateTimeUtc(v) => {
            text(v.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, false)))
        }
        Value::ChronoDateTime(v) => text(v.map(|t| t.format("%F %T%.f").to_string())),
        // Not written by any query of ours; the value itself is not named,
        // as it may be a secret.
        _ => {
            return Err(DbErr::Custom(
                "the SQLite read connection cannot bind this kind of value".into(),
            ));
        }
    })
}

/// What a column holds, and so which `Value` its SQLite value becomes: the
/// active model accepts only the exact variant of the field's type (and a
/// null of that variant for an optional field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Uuid,
    Timestamp,
    Bool,
    Int,
    BigInt,
    Real,
    Text,
    Bytes,
    Untyped,
}

impl Kind {
    /// From the entity's column type, as the migrations declare it.
    fn of(column: &ColumnType) -> Kind {
        match column {
            ColumnType::Uuid => Kind::Uuid,
            ColumnType::TimestampWithTimeZone => Kind::Timestamp,
            ColumnType::Boolean => Kind::Bool,
            ColumnType::TinyInteger | ColumnType::SmallInteger | ColumnType::Integer => Kind::Int,
            ColumnType::BigInteger => Kind::BigInt,
            ColumnType::Float | ColumnType::Double => Kind::Real,
            ColumnType::Char(_) | ColumnType::String(_) | ColumnType::Text => Kind::Text,
            ColumnType::Blob | ColumnType::Binary(_) | ColumnType::VarBinary(_) => Kind::Bytes,
            _ => Kind::Untyped,
        }
    }

    fn decode(self, raw: ValueRef<'_>) -> Result<Value, DbErr> {
        let wrong = || {
            DbErr::Custom(format!(
                "a {:?} column holds SQLite {:?}",
                self,
                raw.data_type()
            ))
        };
        Ok(match (self, raw) {
            (Kind::Uuid, ValueRef::Null) => Value::Uuid(None),
            (Kind::Uuid, ValueRef::Blob(b)) => {
                Value::Uuid(Some(Uuid::from_slice(b).map_err(|_| wrong())?))
            }
            (Kind::Uuid, ValueRef::Text(t)) => {
                Value::Uuid(Some(Uuid::try_parse_ascii(t).map_err(|_| wrong())?))
            }
            (Kind::Timestamp, ValueRef::Null) => Value::ChronoDateTimeUtc(None),
            (Kind::Timestamp, ValueRef::Text(t)) => {
                let t = std::str::from_utf8(t).map_err(|_| wrong())?;
                Value::ChronoDateTimeUtc(Some(parse_timestamp(t).ok_or_else(wrong)?))
            }
            (Kind::Bool, ValueRef::Null) => Value::Bool(None),
            (Kind::Bool, ValueRef::Integer(i)) => Value::Bool(Some(i != 0)),
            (Kind::Int, ValueRef::Null) => Value::Int(None),
            (Kind::Int, ValueRef::Integer(i)) => {
                Value::Int(Some(i32::try_from(i).map_err(|_| wrong())?))
            }
            (Kind::BigInt, ValueRef::Null) => Value::BigInt(None),
            (Kind::BigInt, ValueRef::Integer(i)) => Value::BigInt(Some(i)),
            (Kind::Real, ValueRef::Null) => Value::Double(None),
            (Kind::Text, ValueRef::Null) => Value::String(None),
            (Kind::Bytes, ValueRef::Null) => Value::Bytes(None),
            (Kind::Untyped, ValueRef::Null) => Value::BigInt(None),
            (Kind::Untyped, ValueRef::Integer(i)) => Value::BigInt(Some(i)),
            (_, ValueRef::Real(r)) => Value::Double(Some(r)),
            (Kind::Text | Kind::Untyped, ValueRef::Text(t)) => {
                Value::String(Some(String::from_utf8(t.to_vec()).map_err(|_| wrong())?))
            }
            (Kind::Bytes | Kind::Untyped, ValueRef::Blob(b)) => Value::Bytes(Some(b.to_vec())),
            _ => return Err(wrong()),
        })
    }
}

/// RFC 3339 as sqlx writes it, or SQLite's own `YYYY-MM-DD HH:MM:SS[.f]`
/// (taken as UTC), as sqlx also reads.
fn parse_timestamp(t: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(t) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

pub(super) fn db_err(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("SQLite read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_of_the_entities_has_a_kind() {
        use sea_orm::Iterable;
        fn check<E: EntityTrait>() {
            for c in E::Column::iter() {
                assert_ne!(Kind::of(c.def().get_column_type()), Kind::Untyped, "{c:?}");
            }
        }
        check::<entity::user::Entity>();
        check::<entity::session::Entity>();
        check::<entity::api_token::Entity>();
        check::<entity::product::Entity>();
    }

    #[test]
    fn nulls_are_typed_so_optional_fields_read_as_none() {
        assert_eq!(
            Kind::Timestamp.decode(ValueRef::Null).unwrap(),
            Value::ChronoDateTimeUtc(None)
        );
        assert_eq!(
            Kind::Text.decode(ValueRef::Null).unwrap(),
            Value::String(None)
        );
    }

    #[test]
    fn timestamps_round_trip_in_sqlx_format() {
        let t = crate::db::now();
        let ToSqlOutput::Owned(SqlValue::Text(stored)) =
            bind(&Value::ChronoDateTimeUtc(Some(t))).unwrap()
        else {
            panic!("a timestamp binds as text");
        };
        assert_eq!(
            Kind::Timestamp
                .decode(ValueRef::Text(stored.as_bytes()))
                .unwrap(),
            Value::ChronoDateTimeUtc(Some(t))
        );
        assert_eq!(
            parse_timestamp("2026-11-23 05:37:04"),
            parse_timestamp("2026-11-23T05:37:04+00:00")
        );
    }

    #[test]
    fn in_memory_databases_have_no_shared_file() {
        assert_eq!(file_of("sqlite::memory:"), None);
        assert_eq!(
            file_of("sqlite:///tmp/x.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x.db"))
        );
    }
}
