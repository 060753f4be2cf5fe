//! Social sign-in (API.md §9.1): `flow` (the browser flow: start, callback,
//! exchange code) over `oidc` (OpenID providers, their metadata and keys in
//! `auth::social_providers`) and `github` (plain OAuth 2.0 and its API);
//! `native` (apps' ID tokens), `accounts` (the account rules at the
//! exchange), `identities` (listing and unlinking).

pub mod accounts;
pub mod flow;
mod github;
pub mod id_token;
pub mod identities;
pub mod native;
mod oidc;

use entity::identity;
use entity::social_code::{self, Column, Entity};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::auth::pkce::verifier_matches;
use crate::auth::tokens::sha256_hex;
use crate::auth::viewer::Authenticated;
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::login_limits::ip_failed;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_fresh;
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
    let code = use_code(app, hash, code_verifier).await?;
    let outcome = accounts::sign_in(app, &code, client).await;
    if let Err(AppError::HookFailed(_)) = &outcome {
        give_back(app, &code).await?;
    }
    outcome
}

/// A social code (`hash`: its SHA-256) used up at its first use, with its
/// flow's PKCE checked: `INVALID_TOKEN` for anything else (an email
/// sign-in's code holds no identity).
async fn use_code(
    app: &AppContext,
    hash: &str,
    code_verifier: Option<&str>,
) -> AppResult<social_code::Model> {
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
    Ok(code)
}

/// `linkIdentity(code, codeVerifier)`: a browser flow's code linked to the
/// viewer (fresh; never with an API token).
#[tracing::instrument(skip_all)]
pub async fn link_code(
    app: &AppContext,
    who: &Authenticated,
    code: &str,
    code_verifier: &str,
    client: &ClientInfo,
) -> AppResult<identity::Model> {
    require_fresh(app, who)?;
    let used = match code.len() {
        1..=128 => use_code(app, &sha256_hex(code), Some(code_verifier)).await,
        _ => Err(AppError::InvalidToken),
    };
    let used = match used {
        Err(AppError::InvalidToken) => {
            // A bad code counts on the client IP's login limit.
            ip_failed(&app.db, &app.settings, &client.ip).await?;
            return Err(AppError::InvalidToken);
        }
        other => other?,
    };
    accounts::link_to(app, &who.user, &used, client).await
}

/// `linkIdentityWithIdToken`: a native app's fresh ID token linked to the
/// viewer (fresh; never with an API token).
#[tracing::instrument(skip_all)]
pub async fn link_id_token(
    app: &AppContext,
    who: &Authenticated,
    provider: &str,
    token: &str,
    nonce: &str,
    client: &ClientInfo,
) -> AppResult<identity::Model> {
    require_fresh(app, who)?;
    let used = native::verified(app, provider, token, nonce, client).await?;
    accounts::link_to(app, &who.user, &used, client).await
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
