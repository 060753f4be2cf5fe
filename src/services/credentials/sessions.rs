//! Sessions: opened by a sign-in (`login`), their rotating refresh tokens,
//! their absolute lifetime, renewal by re-authentication, revocation and
//! logout. The per-request check of a session is `authentication`'s.

use chrono::{DateTime, Utc};
use entity::{refresh_token, session, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter,
};
use uuid::Uuid;

use crate::auth::assurance::{Assurance, Method, Proof};
use crate::auth::jwt::{AccessToken, Draft};
use crate::auth::tokens::{random_token, sha256_hex};
use crate::auth::viewer::active_organization;
use crate::auth::viewer::{Authenticated, Credential};
use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::domain::organization::Role;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::minting::is_provider_session;
/// Sessions open in two steps: `prepare` (before the write transaction),
/// then `open_session` (in it).
pub use crate::services::credentials::minting::prepare;
use crate::services::credentials::minting::{Opening, drafted, session_expiry};
use crate::services::shared::accounts;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::security_events as events;

/// A signed-in session's tokens.
pub struct Tokens {
    /// The session the tokens belong to.
    pub session_id: Uuid,
    pub access: AccessToken,
    pub refresh_token: String,
    pub user: user::Model,
    /// What the session's user proved (its `amr`, recorded on sign-in events).
    pub assurance: Assurance,
    /// The session's active organization and the viewer's role in it.
    pub organization: Option<(Uuid, Role)>,
}

/// What a sign-in step proved, just now.
pub fn proved_now(assurance: Assurance) -> Proof {
    Proof {
        at: now(),
        assurance,
    }
}

/// What a session's row says its user proved.
pub fn proof_of(sess: &session::Model) -> Proof {
    Proof {
        at: sess.authenticated_at,
        assurance: Assurance::from_stored(&sess.amr),
    }
}

/// Starts a session for a user whose credentials were checked: a session
/// row, its first refresh token, an access token, and `lastLogin`. `proof`
/// is what the sign-in steps proved (a sign-in: now); `changePassword`
/// passes its caller's, so a password never buys a fresher session.
#[tracing::instrument(skip_all)]
pub async fn open_session(
    txn: &DatabaseTransaction,
    app: &AppContext,
    user: user::Model,
    opening: Opening,
) -> AppResult<Tokens> {
    let Opening {
        session,
        proof,
        draft,
    } = opening;
    let now = session.created_at;
    if session.user_id != user.id {
        return Err(AppError::internal(anyhow::anyhow!(
            "an opening for another user"
        )));
    }
    // The account as the sign-in checked it: still active, and no password
    // reset, change or deactivation (each rotates the stamp) since — the
    // claims hook's call may have come between the check and now.
    let updated = user::Entity::update_many()
        .col_expr(user::Column::LastLogin, Expr::value(Some(now)))
        .filter(user::Column::Id.eq(user.id))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::SecurityStamp.eq(user.security_stamp.clone()))
        .exec_with_returning(txn)
        .await?;
    let Some(user) = updated.into_iter().next() else {
        return Err(AppError::InvalidCredentials);
    };
    let session = session::ActiveModel::from(session).insert(txn).await?;
    let refresh = new_refresh_token(txn, session.id, session.expires_at, now).await?;
    let access = app.keys.sign(draft).map_err(AppError::internal)?;
    Ok(Tokens {
        session_id: session.id,
        access,
        refresh_token: refresh,
        user,
        assurance: proof.assurance,
        organization: None,
    })
}

/// Uses up a refresh token: single use, decided by one conditional update,
/// so of parallel refreshes with one token exactly one wins (true).
pub async fn spend_refresh_token(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let done = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// A new refresh token of a session (first-party or OAuth), stored hashed.
pub async fn new_refresh_token(
    conn: &impl ConnectionTrait,
    session_id: Uuid,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<String, sea_orm::DbErr> {
    let token = random_token();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        token_hash: Set(sha256_hex(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(token)
}

/// Exchanges a refresh token for new tokens. The old one is used up; one
/// that was already used revokes its whole session (reuse detection).
#[tracing::instrument(skip_all)]
pub async fn refresh(app: &AppContext, presented: &str, client: &ClientInfo) -> AppResult<Tokens> {
    if presented.is_empty() || presented.len() > 256 {
        return Err(AppError::InvalidToken);
    }
    let now = now();
    // A token that names nothing costs one read, no write transaction
    // (API.md §8.9): aliases of made-up tokens cannot queue up writers.
    let by_hash = || {
        refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(sha256_hex(presented)))
            .find_also_related(session::Entity)
    };
    let Some((pre, pre_sess)) = app.db.read().one_also(by_hash()).await? else {
        return Err(AppError::InvalidToken);
    };
    // An OAuth session's refresh token is its client's, at the provider's
    // token endpoint (API.md §9.3): never a way to first-party tokens.
    if pre_sess.as_ref().is_none_or(is_provider_session) {
        return Err(AppError::InvalidToken);
    }
    // The claims hook is asked before the write transaction (never while
    // holding it), and only for a token that reads as usable: a reused one
    // goes straight to reuse detection.
    let drafted_for = pre_sess.as_ref().map(active_organization);
    let draft = match pre_sess {
        Some(sess)
            if pre.used_at.is_none() && pre.expires_at > now && sess.revoked_at.is_none() =>
        {
            match accounts::find(app, sess.user_id).await? {
                Some(user) if user.is_active => {
                    Some(drafted(app, &user, &sess, &proof_of(&sess), true, client, now).await?)
                }
                _ => None,
            }
        }
        _ => None,
    };
    let txn = app.db.write().await?;
    let Some((row, Some(sess))) = by_hash().one(&txn).await? else {
        return Err(AppError::InvalidToken);
    };
    if is_provider_session(&sess) {
        return Err(AppError::InvalidToken);
    }
    let won = spend_refresh_token(&txn, row.id, now).await?;
    if !won {
        revoke_sessions(&txn, session::Column::Id.eq(sess.id), now).await?;
        let origin = ClientInfo {
            session_id: Some(sess.id),
            ..client.clone()
        };
        events::record(&txn, sess.user_id, Kind::RefreshTokenReused, &origin, None).await?;
        txn.commit().await?;
        tracing::warn!(session_id = %sess.id, "refresh token reused: session revoked");
        return Err(AppError::InvalidToken);
    }
    let user = user::Entity::find_by_id(sess.user_id).one(&txn).await?;
    let live = row.expires_at > now && sess.revoked_at.is_none() && sess.expires_at > now;
    let Some(user) = user.filter(|u| u.is_active && live) else {
        txn.commit().await?;
        return Err(AppError::InvalidToken);
    };
    let expires_at = session_expiry(app, sess.created_at, now)?;
    if expires_at <= now {
        // SESSION_MAX_AGE has passed since the login: sign in again.
        txn.commit().await?;
        return Err(AppError::InvalidToken);
    }
    let refresh = new_refresh_token(&txn, sess.id, expires_at, now).await?;
    session::Entity::update_many()
        .col_expr(session::Column::ExpiresAt, Expr::value(expires_at))
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .filter(session::Column::Id.eq(sess.id))
        .exec(&txn)
        .await?;
    let proof = proof_of(&sess);
    let draft = match draft {
        // Drafted for the organization the session has now (a membership
        // change between the read and now would make its claims untrue).
        Some(draft) if drafted_for == Some(active_organization(&sess)) => draft,
        // The session changed between the read and now (rare): asked now.
        _ => drafted(app, &user, &sess, &proof, true, client, now).await?,
    };
    let access = app.keys.sign(draft).map_err(AppError::internal)?;
    txn.commit().await?;
    Ok(Tokens {
        session_id: sess.id,
        access,
        refresh_token: refresh,
        user,
        assurance: proof.assurance,
        organization: active_organization(&sess),
    })
}

/// Marks a live session of `user` freshly authenticated at the level its
/// user just proved (`reauthenticate` with a sign-in code) and hands it new
/// tokens, as a refresh would: its refresh tokens so far are used up.
#[tracing::instrument(skip_all)]
pub async fn renew_session(
    txn: &DatabaseTransaction,
    app: &AppContext,
    session_id: Uuid,
    user: user::Model,
    assurance: Assurance,
    client: &ClientInfo,
) -> AppResult<Tokens> {
    let now = now();
    let Some(sess) = session::Entity::find_by_id(session_id)
        .filter(session::Column::UserId.eq(user.id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .one(txn)
        .await?
    else {
        return Err(AppError::InvalidToken);
    };
    let proof = Proof { at: now, assurance };
    record_proof(txn, sess.id, &proof).await?;
    reissue(txn, app, &sess, user, proof, client, None).await
}

/// New tokens for a live session, in the caller's transaction, as a
/// refresh would give: its refresh tokens so far are used up (presenting
/// one again is reuse). `sess` is the session as it now stands (its proof
/// and active organization are what the access token claims); `draft`,
/// its claims drafted (and shown to the claims hook) before the caller's
/// transaction, else drafted now.
#[tracing::instrument(skip_all)]
pub async fn reissue(
    txn: &DatabaseTransaction,
    app: &AppContext,
    sess: &session::Model,
    user: user::Model,
    proof: Proof,
    client: &ClientInfo,
    draft: Option<Draft>,
) -> AppResult<Tokens> {
    let now = now();
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::SessionId.eq(sess.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    let refresh = new_refresh_token(txn, sess.id, sess.expires_at, now).await?;
    let draft = match draft {
        Some(draft) => draft,
        None => drafted(app, &user, sess, &proof, true, client, now).await?,
    };
    let access = app.keys.sign(draft).map_err(AppError::internal)?;
    Ok(Tokens {
        session_id: sess.id,
        access,
        refresh_token: refresh,
        user,
        assurance: proof.assurance,
        organization: active_organization(sess),
    })
}

/// Stores what a live session's user proved; false when the session is
/// gone. The one write of `authenticatedAt`, `aal` and `amr` after a
/// session opens.
#[tracing::instrument(skip_all)]
pub async fn record_proof(
    conn: &impl ConnectionTrait,
    session_id: Uuid,
    proof: &Proof,
) -> Result<bool, sea_orm::DbErr> {
    let mut update = session::Entity::update_many()
        .col_expr(session::Column::AuthenticatedAt, Expr::value(proof.at))
        .col_expr(session::Column::Aal, Expr::value(proof.assurance.aal()))
        .col_expr(session::Column::Amr, Expr::value(proof.assurance.stored()));
    // `Session.provider` names the provider of a `fed` sign-in: gone with `fed`.
    if !proof.assurance.amr().contains(&Method::Fed.as_str()) {
        update = update.col_expr(
            session::Column::Provider,
            Expr::value(Option::<String>::None),
        );
    }
    Ok(update
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?
        .rows_affected
        == 1)
}

/// The one exception of API.md §8.8: a fresh session that turns on the
/// account's first second factor is as strong as the account can be. Its
/// `authenticatedAt` stays; `otp` (and so `mfa`) joins its `amr`.
#[tracing::instrument(skip_all)]
pub async fn raise_with_first_factor(
    conn: &impl ConnectionTrait,
    who: &Authenticated,
) -> Result<(), sea_orm::DbErr> {
    if let (Credential::Session(id), Some(proof)) = (who.credential, &who.proof) {
        let raised = Proof {
            at: proof.at,
            assurance: proof.assurance.with(Method::Otp),
        };
        record_proof(conn, id, &raised).await?;
    }
    Ok(())
}

/// Marks the matching live sessions revoked; their access tokens and
/// refresh tokens stop working on the next request.
#[tracing::instrument(skip_all)]
pub async fn revoke_sessions(
    conn: &impl ConnectionTrait,
    which: sea_orm::sea_query::SimpleExpr,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    Ok(session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(which)
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?
        .rows_affected)
}

/// `LOGIN_SUCCEEDED`, naming the session the sign-in opened.
#[tracing::instrument(skip_all)]
pub async fn record_sign_in(
    txn: &DatabaseTransaction,
    tokens: &Tokens,
    client: &ClientInfo,
    provider: Option<&str>,
) -> Result<(), sea_orm::DbErr> {
    let origin = ClientInfo {
        session_id: Some(tokens.session_id),
        ..client.clone()
    };
    let how = events::How {
        provider: provider.map(str::to_owned),
        ..events::How::signed_in(&tokens.assurance)
    };
    events::record_how(
        txn,
        tokens.user.id,
        Kind::LoginSucceeded,
        &origin,
        None,
        how,
    )
    .await
}
