//! Statements `Hot` builds the same way for both of its own paths (in place
//! on SQLite, direct on PostgreSQL): those built once per query and reused
//! with another key, and the count of a select.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Mutex;

use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{
    DbBackend, DbErr, EntityTrait, QueryTrait, Select, Statement, StatementBuilder, Value,
};
use uuid::Uuid;

/// Statements built once, by the type of the closure that builds them,
/// with the nil UUID where the key goes (see `Hot::one_also_by_id`):
/// building the session check afresh was a tenth of the CPU of an
/// authenticated request.
#[derive(Debug, Default)]
pub struct Keyed(Mutex<HashMap<TypeId, Statement>>);

impl Keyed {
    /// The statement `build` makes, with `id` bound in place of the nil
    /// UUID it was built with; built on first use only.
    pub fn get<K: 'static>(
        &self,
        id: Uuid,
        build: impl FnOnce() -> Statement,
    ) -> Result<Statement, DbErr> {
        let key = TypeId::of::<K>();
        let cached = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let mut statement = match cached {
            Some(statement) => statement,
            None => {
                let statement = build();
                self.0
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
}

/// `SELECT COUNT(*)` over `select` as a subquery, as SeaORM's
/// `PaginatorTrait::count` builds it.
pub fn count<E: EntityTrait>(select: Select<E>, backend: DbBackend) -> Statement {
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
    StatementBuilder::build(&query, &backend)
}
