//! Exchange codes (API.md §9.1, §9.2): what a browser flow hands to the
//! app's redirect target instead of a token. A code is 256 random bits,
//! stored as its SHA-256, lives `EXCHANGE_CODE_TTL`, and is used up by its
//! first exchange whatever the answer; the app's PKCE challenge, when the
//! flow had one, ties it to the app that began the flow.

use chrono::{DateTime, Utc};
use entity::exchange_code::{self, Column, Entity};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter,
};
use uuid::Uuid;

use crate::auth::assurance::Method;
use crate::auth::pkce::verifier_matches;
use crate::auth::tokens::{random_token, sha256_hex};
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::accounts;
use crate::services::shared::client::ClientInfo;
use crate::services::signin::login::{LoginOutcome, after_first_step};
use crate::services::signin::social;

/// Stores a new exchange code for a flow that signed `user_id` in with
/// `first`, in the flow's transaction; returns the code for the redirect.
#[tracing::instrument(skip_all)]
pub async fn issue(
    conn: &impl ConnectionTrait,
    app: &AppContext,
    user_id: Uuid,
    first: Method,
    code_challenge: Option<String>,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let code = random_token();
    let ttl = chrono::Duration::from_std(app.settings.sign_in.exchange_code_ttl)
        .unwrap_or(chrono::Duration::minutes(1));
    exchange_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        code_hash: Set(sha256_hex(&code)),
        user_id: Set(user_id),
        amr: Set(first.as_str().to_owned()),
        code_challenge: Set(code_challenge),
        expires_at: Set(now + ttl),
        consumed_at: Set(None),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(code)
}

/// `exchangeSocialCode`: uses the code up (one caller of any number wins),
/// checks the app's verifier, and answers what `login` answers for the
/// account the flow proved. Every refusal of the code is `INVALID_TOKEN`.
#[tracing::instrument(skip_all)]
pub async fn exchange(
    app: &AppContext,
    code: &str,
    code_verifier: Option<&str>,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    if code.is_empty() || code.len() > 128 {
        return Err(AppError::InvalidToken);
    }
    let now = now();
    // A code that names nothing costs one read and no write (API.md §8.9),
    // as a made-up refresh token does.
    let hash = sha256_hex(code);
    let known = Entity::find().filter(Column::CodeHash.eq(hash.clone()));
    if app.db.read().one(known).await?.is_none() {
        // Not an email sign-in's code: perhaps a social flow's (§9.1).
        return social::exchange(app, &hash, code_verifier, client).await;
    }
    let used = Entity::update_many()
        .col_expr(Column::ConsumedAt, Expr::value(now))
        .filter(Column::CodeHash.eq(hash))
        .filter(Column::ConsumedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .exec_with_returning(app.db.alone())
        .await?;
    let Some(row) = used.into_iter().next() else {
        return Err(AppError::InvalidToken);
    };
    if !verifier_matches(row.code_challenge.as_deref(), code_verifier) {
        return Err(AppError::InvalidToken);
    }
    let user = accounts::find(app, row.user_id)
        .await?
        .ok_or(AppError::InvalidToken)?;
    if !user.is_active {
        return Err(AppError::AccountNotActive);
    }
    let first = Method::parse(&row.amr).ok_or(AppError::InvalidToken)?;
    let outcome = after_first_step(app, user, first, client).await;
    if let Err(AppError::HookFailed(_)) = &outcome {
        // `HOOK_FAILED` uses nothing up (API.md §9.1, §11.5): the same code
        // (and verifier) may be tried again within its lifetime.
        Entity::update_many()
            .col_expr(
                Column::ConsumedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(Column::Id.eq(row.id))
            .exec(app.db.alone())
            .await?;
    }
    outcome
}
