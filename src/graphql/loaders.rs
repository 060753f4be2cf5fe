//! DataLoaders, created per request by the HTTP layer: a page of products
//! loads its owners in one query, not one per row.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::db::Reader;

pub struct UserLoader {
    reader: Reader,
}

impl UserLoader {
    pub fn new(reader: Reader) -> Self {
        UserLoader { reader }
    }
}

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let users = self
            .reader
            .all(user::Entity::find().filter(user::Column::Id.is_in(keys.iter().copied())))
            .await
            .map_err(Arc::new)?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }
}
