//! DataLoaders, created per request by the HTTP layer: a page of products
//! loads its owners in one query, not one per row.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::user;
use uuid::Uuid;

use crate::services::{AppContext, users};

pub struct UserLoader {
    app: AppContext,
}

impl UserLoader {
    pub fn new(app: AppContext) -> Self {
        UserLoader { app }
    }
}

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let users = users::find_many(&self.app, keys).await.map_err(Arc::new)?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }
}
