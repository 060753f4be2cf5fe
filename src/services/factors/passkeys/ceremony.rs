//! The state between the two halves of a WebAuthn ceremony, kept in the
//! database for `TTL` and taken once: a conditional delete that returns the
//! row, so of two finishes racing with one challenge exactly one gets it,
//! on any instance.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use entity::webauthn_challenge::{self, Column, Entity};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;

/// How long a ceremony may take (API.md §8.4).
const TTL: Duration = Duration::minutes(5);

#[derive(Clone, Copy)]
pub enum Purpose {
    Register,
    Login,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Login => "login",
        }
    }
}

/// Unfinished sign-in ceremonies one client may hold (API.md §8.9).
pub const MAX_UNFINISHED_PER_CLIENT: u64 = 100;

/// Keeps `state` for `TTL`; answers the ceremony's id. `client_key` names
/// the client that began a sign-in.
#[tracing::instrument(skip_all)]
pub async fn store(
    app: &AppContext,
    user_id: Option<Uuid>,
    purpose: Purpose,
    state: &impl Serialize,
    client_key: Option<String>,
) -> AppResult<Uuid> {
    let id = Uuid::new_v4();
    webauthn_challenge::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        purpose: Set(purpose.as_str().to_owned()),
        state: Set(serde_json::to_string(state).map_err(AppError::internal)?),
        expires_at: Set(now() + TTL),
        client_key: Set(client_key),
    }
    .insert(app.db.alone())
    .await?;
    Ok(id)
}

/// Refuses a client that holds `MAX_UNFINISHED_PER_CLIENT` live sign-in
/// ceremonies: `RATE_LIMITED` until the oldest could have expired.
#[tracing::instrument(skip_all)]
pub async fn ensure_room(app: &AppContext, client_key: &str) -> AppResult<()> {
    let live = Entity::find()
        .filter(Column::ClientKey.eq(client_key))
        .filter(Column::ExpiresAt.gt(now()));
    let live = app.db.read().count(live).await?;
    if live >= MAX_UNFINISHED_PER_CLIENT {
        return Err(AppError::RateLimited {
            retry_after_secs: TTL.num_seconds() as u64,
        });
    }
    Ok(())
}

/// A ceremony taken for judging: its user, its state, and what gives it
/// back when the sign-in it served fails without using it (`HOOK_FAILED`).
pub struct Taken<T> {
    pub owner: Option<Uuid>,
    pub state: T,
    row: webauthn_challenge::Model,
}

impl<T> Taken<T> {
    /// Stores the ceremony again, as it was: the same call may be retried.
    pub async fn give_back(self, app: &AppContext) -> AppResult<()> {
        webauthn_challenge::ActiveModel::from(self.row)
            .insert(app.db.alone())
            .await?;
        Ok(())
    }
}

/// Takes the live ceremony `id` of `purpose`, once: its user and state.
#[tracing::instrument(skip_all)]
pub async fn take<T: DeserializeOwned>(
    app: &AppContext,
    id: Uuid,
    purpose: Purpose,
) -> AppResult<Option<Taken<T>>> {
    let taken = Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::Purpose.eq(purpose.as_str()))
        .filter(Column::ExpiresAt.gt(now()))
        .exec_with_returning(app.db.alone())
        .await?;
    let Some(row) = taken.into_iter().next() else {
        return Ok(None);
    };
    let state = serde_json::from_str(&row.state).map_err(AppError::internal)?;
    Ok(Some(Taken {
        owner: row.user_id,
        state,
        row,
    }))
}

/// How a credential id is stored and looked up: base64url, no padding.
pub fn credential_key(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}
