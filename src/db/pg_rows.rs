//! PostgreSQL rows from `direct` into SeaORM models, by column index
//! (`columns`): the columns are matched to the entity once per result.

use std::error::Error;

use chrono::{DateTime, Utc};
use sea_orm::{DbErr, EntityTrait, TryIntoModel, Value};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Type};
use uuid::Uuid;

use super::columns::{self, ColumnKind, Pair};

/// Every row as `E`'s model.
pub fn models<E: EntityTrait>(rows: &[Row]) -> Result<Vec<E::Model>, DbErr>
where
    E::ActiveModel: TryIntoModel<E::Model>,
{
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let fields = columns::fields::<E>(first.columns().iter().map(|c| c.name()), "");
    rows.iter()
        .map(|row| columns::model(&fields, |f| value(row, f.index, f.kind)))
        .collect()
}

/// The first row of a `SelectTwo` as its two models (`columns::pair`).
pub fn pair<A, B>(rows: &[Row]) -> Result<Option<Pair<A, B>>, DbErr>
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
        |i| row.try_get::<_, Null>(i).is_ok_and(|n| n.0),
        |i, kind| value(row, i, kind),
    )
    .map(Some)
}

/// The `COUNT(*)` of a count statement's one row.
pub fn count(rows: &[Row]) -> Result<u64, DbErr> {
    let n = match rows.first() {
        Some(row) => get::<i64>(row, 0)?.unwrap_or(0),
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The column's value as the variant the active model accepts for `kind`;
/// a narrower column (`int2` for an `Int`, `real` for a `Real`) widened.
fn value(row: &Row, index: usize, kind: ColumnKind) -> Result<Value, DbErr> {
    let ty = row.columns()[index].type_();
    Ok(match kind {
        ColumnKind::Uuid => Value::Uuid(get::<Uuid>(row, index)?),
        ColumnKind::Timestamp => Value::ChronoDateTimeUtc(get::<DateTime<Utc>>(row, index)?),
        ColumnKind::Bool => Value::Bool(get(row, index)?),
        ColumnKind::Int if *ty == Type::INT2 => Value::Int(get::<i16>(row, index)?.map(i32::from)),
        ColumnKind::Int => Value::Int(get(row, index)?),
        ColumnKind::BigInt if *ty == Type::INT4 => {
            Value::BigInt(get::<i32>(row, index)?.map(i64::from))
        }
        ColumnKind::BigInt => Value::BigInt(get(row, index)?),
        ColumnKind::Real if *ty == Type::FLOAT4 => {
            Value::Double(get::<f32>(row, index)?.map(f64::from))
        }
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

fn get<'r, T: FromSql<'r>>(row: &'r Row, index: usize) -> Result<Option<T>, DbErr> {
    row.try_get::<_, Option<T>>(index)
        .map_err(|e| DbErr::Type(format!("column {index}: {e}")))
}

/// Whether a column is null, whatever its type.
struct Null(bool);

impl<'a> FromSql<'a> for Null {
    fn from_sql(_: &Type, _: &'a [u8]) -> Result<Null, Box<dyn Error + Sync + Send>> {
        Ok(Null(false))
    }

    fn from_sql_null(_: &Type) -> Result<Null, Box<dyn Error + Sync + Send>> {
        Ok(Null(true))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}
