//! The one data API for hot statements outside transactions.
//!
//! `Hot` takes the queries services build with SeaORM (`Select`,
//! `SelectTwo`, an `ActiveModel` to insert) and answers SeaORM's models, the
//! same calls on both databases: on PostgreSQL (and in-memory SQLite) each
//! method is SeaORM's own call on the pool; on a SQLite file the same
//! statements run in place (`in_place`, for speed). Errors are classified
//! alike (`db::sql_err`). Transactions always go to the pool
//! (`db::begin_write`). SeaORM's proxy connection would have let services
//! pass `&DatabaseConnection` here too, but sea-orm 2.0.4 does not compile
//! its proxy feature beside sqlx-sqlite and sqlx-postgres.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait,
    QuerySelect, Select, SelectTwo, TryIntoModel,
};
use uuid::Uuid;

use super::in_place::{InPlace, Pair};

#[derive(Clone, Debug)]
pub enum Hot {
    Pool(DatabaseConnection),
    InPlace(Arc<InPlace>),
}

impl Hot {
    /// In place on a SQLite file, else the pool; `queries` counts the reads
    /// run in place, as the pool's metric callback counts its own.
    pub fn new(url: &str, db: &DatabaseConnection, queries: Arc<AtomicU64>) -> Result<Hot, DbErr> {
        Ok(match InPlace::open(url, db, queries)? {
            Some(in_place) => Hot::InPlace(Arc::new(in_place)),
            None => Hot::Pool(db.clone()),
        })
    }

    /// `select.all(db)`.
    pub async fn all<E>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        match self {
            Hot::Pool(db) => select.all(db).await,
            Hot::InPlace(r) => r.all(select),
        }
    }

    /// `select.one(db)`.
    pub async fn one<E>(&self, select: Select<E>) -> Result<Option<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        Ok(self.all(select.limit(1)).await?.into_iter().next())
    }

    /// `select.one(db)` of a `find_also_related`: the row and its related
    /// row, `None` when absent.
    pub async fn one_also<A, B>(&self, select: SelectTwo<A, B>) -> Result<Option<Pair<A, B>>, DbErr>
    where
        A: EntityTrait,
        B: EntityTrait,
        A::ActiveModel: TryIntoModel<A::Model>,
        B::ActiveModel: TryIntoModel<B::Model>,
    {
        match self {
            Hot::Pool(db) => select.one(db).await,
            Hot::InPlace(r) => r.one_also(select),
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
            Hot::Pool(db) => select(id).one(db).await,
            Hot::InPlace(r) => r.one_also_by_id(id, select),
        }
    }

    /// `select.count(db)`: the rows `select` matches, ignoring its order
    /// and limit.
    pub async fn count<E>(&self, select: Select<E>) -> Result<u64, DbErr>
    where
        E: EntityTrait,
        E::Model: Sync,
    {
        match self {
            Hot::Pool(db) => select.count(db).await,
            Hot::InPlace(r) => r.count(select),
        }
    }

    /// `row.insert(db)`: the row as stored, once committed (in place, in a
    /// group with whatever other inserts are waiting).
    pub async fn insert<A, E>(&self, row: A) -> Result<E::Model, DbErr>
    where
        A: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + 'static,
        E: EntityTrait<ActiveModel = A>,
        E::Model: IntoActiveModel<A>,
        A: TryIntoModel<E::Model>,
    {
        match self {
            Hot::Pool(db) => row.insert(db).await,
            Hot::InPlace(r) => r.insert(row).await,
        }
    }
}
