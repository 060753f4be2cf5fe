//! Social sign-in (API.md §9.1), OpenID providers only (their metadata
//! and keys: `auth::social_providers`): `flow` (the browser flow: start, callback, exchange
//! code) and `accounts` (the account rules at the exchange), `identities`
//! (listing and unlinking).

pub mod accounts;
pub mod flow;
pub mod id_token;
pub mod identities;

use entity::social_code::{self, Column, Entity};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::auth::pkce::verifier_matches;
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::client::ClientInfo;
use crate::services::signin::login::LoginOutcome;

/// `exchangeSocialCode` for a social flow's code (`hash`: its SHA-256):
/// used up at its first use whatever the answer (but `HOOK_FAILED`).
#[tracing::instrument(skip_all)]
pub async fn exchange(
    app: &AppContext,
    hash: &str,
    code_verifier: Option<&str>,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    let known = Entity::find().filter(Column::CodeHash.eq(hash));
    if app.db.read().one(known).await?.is_none() {
        return Err(AppError::InvalidToken);
    }
    let now = now();
    let used = Entity::update_many()
        .col_expr(Column::ConsumedAt, Expr::value(Some(now)))
        .filter(Column::CodeHash.eq(hash))
        .filter(Column::ConsumedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .exec_with_returning(app.db.alone())
        .await?;
    let Some(code) = used.into_iter().next() else {
        return Err(AppError::InvalidToken);
    };
    if !verifier_matches(code.code_challenge.as_deref(), code_verifier) {
        return Err(AppError::InvalidToken);
    }
    let outcome = accounts::sign_in(app, &code, client).await;
    if let Err(AppError::HookFailed(_)) = &outcome {
        give_back(app, &code).await?;
    }
    outcome
}

/// `HOOK_FAILED` uses nothing up: the same code may be tried again.
async fn give_back(app: &AppContext, code: &social_code::Model) -> AppResult<()> {
    Entity::update_many()
        .col_expr(
            Column::ConsumedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .filter(Column::Id.eq(code.id))
        .exec(app.db.alone())
        .await?;
    Ok(())
}
