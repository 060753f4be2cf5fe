//! DataLoaders, created per request by the HTTP layer: a page of products
//! loads its owners in one query, not one per row, and a page of users its
//! recovery-code counts in one more. One loader serves both key types.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::user;
use uuid::Uuid;

use crate::services::AppContext;
use crate::services::factors::recovery_codes;
use crate::services::shared::accounts;

/// The accounts a page of nodes names, fetched in one query without a
/// DataLoader (a task, a timer and a channel per node cost a tenth of the
/// CPU of a page of twenty), by id.
pub async fn users_by_id(
    app: &AppContext,
    mut ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, Arc<user::Model>>, crate::error::AppError> {
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(accounts::find_many(app, &ids)
        .await?
        .into_iter()
        .map(|u| (u.id, Arc::new(u)))
        .collect())
}

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
        let users = accounts::find_many(&self.app, keys)
            .await
            .map_err(Arc::new)?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// The key for a user's count of unused recovery codes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodesLeftOf(pub Uuid);

impl Loader<CodesLeftOf> for UserLoader {
    type Value = u64;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(
        &self,
        keys: &[CodesLeftOf],
    ) -> Result<HashMap<CodesLeftOf, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let left = recovery_codes::left_for(&self.app, &ids)
            .await
            .map_err(Arc::new)?;
        // A user with none has no row in the count: zero.
        Ok(keys
            .iter()
            .map(|k| (*k, left.get(&k.0).copied().unwrap_or(0)))
            .collect())
    }
}
