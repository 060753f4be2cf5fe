//! Rows read by column index into SeaORM models, for `Hot`'s own paths (in
//! place on SQLite, direct on PostgreSQL): the result's columns are matched
//! to the entity's once per result, and each row is filled into the
//! entity's active model, which checks every value's type. SeaORM's own
//! `FromQueryResult` finds every column of every row by its name, formatted
//! and hashed anew: a tenth of the CPU of a page of products.

use std::str::FromStr;

use sea_orm::{ActiveModelTrait, ColumnTrait, ColumnType, DbErr, EntityTrait, TryIntoModel, Value};

/// A result column that fills a field of entity `E`.
pub struct Field<E: EntityTrait> {
    pub index: usize,
    pub column: E::Column,
    pub kind: ColumnKind,
}

/// The result columns named (after `prefix`) like `E`'s columns.
pub fn fields<E: EntityTrait>(
    names: impl IntoIterator<Item = impl AsRef<str>>,
    prefix: &str,
) -> Vec<Field<E>> {
    names
        .into_iter()
        .enumerate()
        .filter_map(|(index, name)| {
            let column = E::Column::from_str(name.as_ref().strip_prefix(prefix)?).ok()?;
            Some(Field {
                index,
                column,
                kind: ColumnKind::of(column.def().get_column_type()),
            })
        })
        .collect()
}

/// One row as `E`'s model, each field's value from `value`: every value is
/// type-checked by the active model, and a missing column fails the
/// conversion.
pub fn model<E: EntityTrait>(
    fields: &[Field<E>],
    mut value: impl FnMut(&Field<E>) -> Result<Value, DbErr>,
) -> Result<E::Model, DbErr>
where
    E::ActiveModel: TryIntoModel<E::Model>,
{
    let mut active = <E::ActiveModel as ActiveModelTrait>::default();
    for f in fields {
        active.try_set(f.column, value(f)?)?;
    }
    active.try_into_model()
}

/// A row and its related row, if the outer join found one.
pub type Pair<A, B> = (<A as EntityTrait>::Model, Option<<B as EntityTrait>::Model>);

/// A `SelectTwo`'s row (SeaORM's `A_`/`B_` aliases over the result's
/// column `names`) as its two models; the second is `None` when the outer
/// join found nothing, i.e. every one of its columns `is_null`.
pub fn pair<A, B>(
    names: impl IntoIterator<Item = impl AsRef<str>> + Clone,
    is_null: impl Fn(usize) -> bool,
    mut value: impl FnMut(usize, ColumnKind) -> Result<Value, DbErr>,
) -> Result<Pair<A, B>, DbErr>
where
    A: EntityTrait,
    B: EntityTrait,
    A::ActiveModel: TryIntoModel<A::Model>,
    B::ActiveModel: TryIntoModel<B::Model>,
{
    let a = fields::<A>(names.clone(), "A_");
    let b = fields::<B>(names, "B_");
    let related = match b.iter().all(|f| is_null(f.index)) {
        true => None,
        false => Some(model(&b, |f| value(f.index, f.kind))?),
    };
    Ok((model(&a, |f| value(f.index, f.kind))?, related))
}

/// What a column holds, and so which `Value` a database value becomes: the
/// active model accepts only the exact variant of the field's type (and a
/// null of that variant for an optional field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
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

impl ColumnKind {
    /// From the entity's column type, as the migrations declare it.
    pub fn of(column: &ColumnType) -> ColumnKind {
        match column {
            ColumnType::Uuid => ColumnKind::Uuid,
            ColumnType::TimestampWithTimeZone => ColumnKind::Timestamp,
            ColumnType::Boolean => ColumnKind::Bool,
            ColumnType::TinyInteger | ColumnType::SmallInteger | ColumnType::Integer => {
                ColumnKind::Int
            }
            ColumnType::BigInteger => ColumnKind::BigInt,
            ColumnType::Float | ColumnType::Double => ColumnKind::Real,
            ColumnType::Char(_) | ColumnType::String(_) | ColumnType::Text => ColumnKind::Text,
            ColumnType::Blob | ColumnType::Binary(_) | ColumnType::VarBinary(_) => {
                ColumnKind::Bytes
            }
            _ => ColumnKind::Untyped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_of_the_entities_has_a_kind() {
        use sea_orm::Iterable;
        fn check<E: EntityTrait>() {
            for c in E::Column::iter() {
                assert_ne!(
                    ColumnKind::of(c.def().get_column_type()),
                    ColumnKind::Untyped,
                    "{c:?}"
                );
            }
        }
        check::<entity::user::Entity>();
        check::<entity::session::Entity>();
        check::<entity::api_token::Entity>();
        check::<entity::product::Entity>();
        check::<entity::security_event::Entity>();
    }
}
