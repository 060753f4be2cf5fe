//! Statements on rusqlite: values bound as sqlx binds them, and rows read
//! back into SeaORM models through their active models, which check every
//! value's type against the entity.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, Row};
use sea_orm::{DbErr, EntityTrait, Statement, TryIntoModel, Value};
use uuid::Uuid;

use super::errors::db_err;
pub use crate::db::columns::fields;
use crate::db::columns::{self, ColumnKind, Field};

use crate::db::columns::Pair;

/// Prepares (or reuses) `statement` on `conn`, binds its values, and hands
/// its column names and rows to `read`.
pub fn execute<T>(
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

/// The first row of a `SelectTwo` as its two models (`columns::pair`).
pub fn read_one_also<A, B>(
    names: &[String],
    rows: &mut rusqlite::Rows<'_>,
) -> Result<Option<Pair<A, B>>, DbErr>
where
    A: EntityTrait,
    B: EntityTrait,
    A::ActiveModel: TryIntoModel<A::Model>,
    B::ActiveModel: TryIntoModel<B::Model>,
{
    let Some(row) = rows.next().map_err(db_err)? else {
        return Ok(None);
    };
    columns::pair::<A, B>(
        names,
        |i| matches!(row.get_ref(i), Ok(ValueRef::Null)),
        |i, kind| kind.decode(row.get_ref(i).map_err(db_err)?),
    )
    .map(Some)
}

/// One row as `E`'s model (see `columns::model`).
pub fn model<E: EntityTrait>(row: &Row<'_>, fields: &[Field<E>]) -> Result<E::Model, DbErr>
where
    E::ActiveModel: TryIntoModel<E::Model>,
{
    columns::model(fields, |f| {
        f.kind.decode(row.get_ref(f.index).map_err(db_err)?)
    })
}

/// Binds a value the way sqlx's SQLite driver does, so comparisons with
/// stored values (timestamps in cursors, UUID keys) agree byte for byte.
fn bind(value: &Value) -> Result<ToSqlOutput<'_>, DbErr> {
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
                "the in-place SQLite connection cannot bind this kind of value".into(),
            ));
        }
    })
}

/// SQLite's value of a column of `kind`: the active model accepts only the
/// exact variant of the field's type (and a null of that variant for an
/// optional field).
impl ColumnKind {
    fn decode(self, raw: ValueRef<'_>) -> Result<Value, DbErr> {
        let wrong = || {
            DbErr::Custom(format!(
                "a {:?} column holds SQLite {:?}",
                self,
                raw.data_type()
            ))
        };
        Ok(match (self, raw) {
            (ColumnKind::Uuid, ValueRef::Null) => Value::Uuid(None),
            (ColumnKind::Uuid, ValueRef::Blob(b)) => {
                Value::Uuid(Some(Uuid::from_slice(b).map_err(|_| wrong())?))
            }
            (ColumnKind::Uuid, ValueRef::Text(t)) => {
                Value::Uuid(Some(Uuid::try_parse_ascii(t).map_err(|_| wrong())?))
            }
            (ColumnKind::Timestamp, ValueRef::Null) => Value::ChronoDateTimeUtc(None),
            (ColumnKind::Timestamp, ValueRef::Text(t)) => {
                let t = std::str::from_utf8(t).map_err(|_| wrong())?;
                Value::ChronoDateTimeUtc(Some(parse_timestamp(t).ok_or_else(wrong)?))
            }
            (ColumnKind::Bool, ValueRef::Null) => Value::Bool(None),
            (ColumnKind::Bool, ValueRef::Integer(i)) => Value::Bool(Some(i != 0)),
            (ColumnKind::Int, ValueRef::Null) => Value::Int(None),
            (ColumnKind::Int, ValueRef::Integer(i)) => {
                Value::Int(Some(i32::try_from(i).map_err(|_| wrong())?))
            }
            (ColumnKind::BigInt, ValueRef::Null) => Value::BigInt(None),
            (ColumnKind::BigInt, ValueRef::Integer(i)) => Value::BigInt(Some(i)),
            (ColumnKind::Real, ValueRef::Null) => Value::Double(None),
            (ColumnKind::Text, ValueRef::Null) => Value::String(None),
            (ColumnKind::Bytes, ValueRef::Null) => Value::Bytes(None),
            (ColumnKind::Untyped, ValueRef::Null) => Value::BigInt(None),
            (ColumnKind::Untyped, ValueRef::Integer(i)) => Value::BigInt(Some(i)),
            (_, ValueRef::Real(r)) => Value::Double(Some(r)),
            (ColumnKind::Text | ColumnKind::Untyped, ValueRef::Text(t)) => {
                Value::String(Some(String::from_utf8(t.to_vec()).map_err(|_| wrong())?))
            }
            (ColumnKind::Bytes | ColumnKind::Untyped, ValueRef::Blob(b)) => {
                Value::Bytes(Some(b.to_vec()))
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_are_typed_so_optional_fields_read_as_none() {
        assert_eq!(
            ColumnKind::Timestamp.decode(ValueRef::Null).unwrap(),
            Value::ChronoDateTimeUtc(None)
        );
        assert_eq!(
            ColumnKind::Text.decode(ValueRef::Null).unwrap(),
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
            ColumnKind::Timestamp
                .decode(ValueRef::Text(stored.as_bytes()))
                .unwrap(),
            Value::ChronoDateTimeUtc(Some(t))
        );
        assert_eq!(
            parse_timestamp("2026-11-23 05:37:04"),
            parse_timestamp("2026-11-23T05:37:04+00:00")
        );
    }
}
