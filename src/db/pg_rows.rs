//! PostgreSQL rows from `direct` into SeaORM models, by column index
//! (`columns`): the columns are matched to the entity once per result.

use chrono::{DateTime, Utc};
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{Column, Decode, Postgres, Row, Type, ValueRef};
use sea_orm::{DbErr, EntityTrait, TryIntoModel, Value};
use uuid::Uuid;

use super::columns::{self, ColumnKind, Field, Pair};
use super::direct::sqlx_err;

/// Every row as `E`'s model.
pub fn models<E: EntityTrait>(rows: &[PgRow]) -> Result<Vec<E::Model>, DbErr>
where
    E::ActiveModel: TryIntoModel<E::Model>,
{
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let fields = fields::<E>(first, "");
    rows.iter().map(|row| model(row, &fields)).collect()
}

/// The first row of a `SelectTwo` as its two models (`columns::pair`).
pub fn pair<A, B>(rows: &[PgRow]) -> Result<Option<Pair<A, B>>, DbErr>
where
    A: EntityTrait,
    B: EntityTrait,
    A::ActiveModel: TryIntoModel<A::Model>,
    B::ActiveModel: TryIntoModel<B::Model>,
{
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    columns::pair::<A, B>(
        row.columns().iter().map(|c| c.name()),
        |i| row.try_get_raw(i).is_ok_and(|v| v.is_null()),
        |i, kind| value(row, i, kind),
    )
    .map(Some)
}

/// The `COUNT(*)` of a count statement's one row.
pub fn count(rows: &[PgRow]) -> Result<u64, DbErr> {
    let n = match rows.first() {
        Some(row) => get::<i64>(row, 0)?.unwrap_or(0),
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

fn fields<E: EntityTrait>(row: &PgRow, prefix: &str) -> Vec<Field<E>> {
    columns::fields::<E>(row.columns().iter().map(|c| c.name()), prefix)
}

fn model<E: EntityTrait>(row: &PgRow, fields: &[Field<E>]) -> Result<E::Model, DbErr>
where
    E::ActiveModel: TryIntoModel<E::Model>,
{
    columns::model(fields, |f| value(row, f.index, f.kind))
}

/// The column's value as the variant the active model accepts for `kind`.
fn value(row: &PgRow, index: usize, kind: ColumnKind) -> Result<Value, DbErr> {
    Ok(match kind {
        ColumnKind::Uuid => Value::Uuid(get::<Uuid>(row, index)?),
        ColumnKind::Timestamp => Value::ChronoDateTimeUtc(get::<DateTime<Utc>>(row, index)?),
        ColumnKind::Bool => Value::Bool(get(row, index)?),
        ColumnKind::Int => Value::Int(get(row, index)?),
        ColumnKind::BigInt => Value::BigInt(get(row, index)?),
        ColumnKind::Real => Value::Double(get(row, index)?),
        ColumnKind::Text => Value::String(get(row, index)?),
        ColumnKind::Bytes => Value::Bytes(get(row, index)?),
        ColumnKind::Untyped => {
            return Err(DbErr::Custom(format!(
                "column {index} has a type the direct path does not read"
            )));
        }
    })
}

fn get<'r, T>(row: &'r PgRow, index: usize) -> Result<Option<T>, DbErr>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get::<Option<T>, _>(index)
        .map_err(|e| DbErr::Query(sqlx_err(e)))
}
