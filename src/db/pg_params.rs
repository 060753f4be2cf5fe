//! SeaORM's values as tokio-postgres parameters, typed as sqlx types them
//! on PostgreSQL (sea-query-sqlx's binding): a statement prepared on the
//! direct path gets the parameter types, and so the plan, it gets on the
//! pool. Values of types no hot statement binds are refused.

use std::error::Error;

use bytes::BytesMut;
use sea_orm::{DbErr, Value};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// One bound value.
#[derive(Debug)]
pub struct Param<'a>(pub &'a Value);

/// The PostgreSQL type each value is bound as, in order.
pub fn types(values: &[Value]) -> Result<Vec<Type>, DbErr> {
    values.iter().map(type_of).collect()
}

fn type_of(value: &Value) -> Result<Type, DbErr> {
    Ok(match value {
        Value::Bool(_) => Type::BOOL,
        Value::SmallInt(_) => Type::INT2,
        Value::Int(_) | Value::SmallUnsigned(_) => Type::INT4,
        Value::BigInt(_) | Value::Unsigned(_) | Value::BigUnsigned(_) => Type::INT8,
        Value::Float(_) => Type::FLOAT4,
        Value::Double(_) => Type::FLOAT8,
        Value::String(_) | Value::Char(_) => Type::TEXT,
        Value::Bytes(_) => Type::BYTEA,
        Value::ChronoDateTimeUtc(_) => Type::TIMESTAMPTZ,
        Value::Uuid(_) => Type::UUID,
        // Never the value itself: it may be a secret.
        _ => {
            return Err(DbErr::Custom(
                "a value of a type the direct path does not bind".into(),
            ));
        }
    })
}

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self.0 {
            Value::Bool(v) => v.to_sql(ty, out),
            Value::SmallInt(v) => v.to_sql(ty, out),
            Value::Int(v) => v.to_sql(ty, out),
            Value::BigInt(v) => v.to_sql(ty, out),
            Value::SmallUnsigned(v) => v.map(i32::from).to_sql(ty, out),
            Value::Unsigned(v) => v.map(i64::from).to_sql(ty, out),
            Value::BigUnsigned(v) => v.map(i64::try_from).transpose()?.to_sql(ty, out),
            Value::Float(v) => v.to_sql(ty, out),
            Value::Double(v) => v.to_sql(ty, out),
            Value::String(v) => v.as_deref().to_sql(ty, out),
            Value::Char(v) => v.map(String::from).to_sql(ty, out),
            Value::Bytes(v) => v.as_deref().to_sql(ty, out),
            Value::ChronoDateTimeUtc(v) => v.to_sql(ty, out),
            Value::Uuid(v) => v.to_sql(ty, out),
            _ => Err("a value of a type the direct path does not bind".into()),
        }
    }

    /// The statement was prepared with `types`, so `ty` is the value's own.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_and_encoded_as_sqlx_binds_them() {
        let values = [
            Value::Uuid(Some(uuid::Uuid::nil())),
            Value::BigUnsigned(Some(21)),
            Value::String(None),
            Value::Int(Some(7)),
        ];
        let typed = types(&values).unwrap();
        assert_eq!(typed, [Type::UUID, Type::INT8, Type::TEXT, Type::INT4]);
        let mut out = BytesMut::new();
        let limit = Param(&values[1]).to_sql(&Type::INT8, &mut out).unwrap();
        assert!(matches!(limit, IsNull::No));
        assert_eq!(&out[..], &21i64.to_be_bytes());
        let null = Param(&values[2])
            .to_sql(&Type::TEXT, &mut BytesMut::new())
            .unwrap();
        assert!(matches!(null, IsNull::Yes));
        let huge = Value::BigUnsigned(Some(u64::MAX));
        assert!(Param(&huge).to_sql(&Type::INT8, &mut out).is_err());
        assert!(types(&[Value::ChronoDate(None)]).is_err());
    }
}
