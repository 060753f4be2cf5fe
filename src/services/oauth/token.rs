//! The token endpoint's grants (API.md §9.3): a code for an OAuth session's
//! first tokens, and rotating refresh tokens. A code is spent by the first
//! request that names it, whatever it answers; one presented again ends
//! the session it started. Refresh tokens rotate with reuse detection, in
//! the same table and by the same conditional update as first-party ones.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::{
    oauth_authorization as authz, oauth_client, oauth_grant, refresh_token, session, user,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::assurance::{Assurance, Proof};
use crate::auth::tokens::{constant_time_eq, sha256_hex};
use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::domain::oauth::Scopes;
use crate::error::AppError;
use crate::services::AppContext;
use crate::services::credentials::minting::new_session;
use crate::services::credentials::sessions::{new_refresh_token, spend_refresh_token};
use crate::services::oauth::minting::{Issued, tokens_for};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::last_used::LAST_USED_RESOLUTION;
use crate::services::shared::security_events as events;

/// An RFC 6749 error of the token endpoint.
#[derive(Debug)]
pub enum Failure {
    InvalidRequest(&'static str),
    InvalidGrant(&'static str),
    InvalidScope,
    InvalidTarget,
    Server(AppError),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Failure {
        Failure::Server(e)
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(e: sea_orm::DbErr) -> Failure {
        Failure::Server(e.into())
    }
}

/// Whether `verifier` is an RFC 7636 code verifier.
fn is_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// What a code exchange presents.
pub struct CodeExchange<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: &'a str,
    pub resource: Option<&'a str>,
}

/// `grant_type=authorization_code`.
#[tracing::instrument(skip_all)]
pub async fn exchange_code(
    app: &AppContext,
    client: &oauth_client::Model,
    req: CodeExchange<'_>,
    who: &ClientInfo,
) -> Result<Issued, Failure> {
    if req.code.is_empty() || req.redirect_uri.is_empty() || req.verifier.is_empty() {
        return Err(Failure::InvalidRequest(
            "code, redirect_uri and code_verifier are required",
        ));
    }
    if !is_verifier(req.verifier) {
        return Err(Failure::InvalidRequest(
            "code_verifier must be 43-128 unreserved characters",
        ));
    }
    if req.code.len() > 128 {
        return Err(Failure::InvalidGrant("the code is not valid"));
    }
    let now = now();
    let hash = sha256_hex(req.code);
    // A made-up code costs one read and no write transaction (API.md §8.9).
    let known = authz::Entity::find().filter(authz::Column::CodeHash.eq(hash.clone()));
    if app.db.read().one(known).await?.is_none() {
        return Err(Failure::InvalidGrant("the code is not valid"));
    }
    let txn = app.db.write().await?;
    // Spent by the first request that names it, whatever it answers.
    let spent = authz::Entity::update_many()
        .col_expr(authz::Column::CodeUsedAt, Expr::value(Some(now)))
        .filter(authz::Column::CodeHash.eq(hash.clone()))
        .filter(authz::Column::CodeUsedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    let row = authz::Entity::find()
        .filter(authz::Column::CodeHash.eq(hash))
        .one(&txn)
        .await?;
    let Some(row) = row else {
        txn.commit().await?;
        return Err(Failure::InvalidGrant("the code is not valid"));
    };
    if !spent {
        // A code presented again: the session it started ends at once.
        if let (Some(sid), Some(user)) = (row.oauth_session_id, row.user_id) {
            let ended = end_session(&txn, sid, now).await?;
            if ended {
                let origin = ClientInfo {
                    session_id: Some(sid),
                    ..who.clone()
                };
                events::record(&txn, user, Kind::OauthCodeReused, &origin, None).await?;
            }
        }
        txn.commit().await?;
        tracing::warn!("OAuth code reused: its session ended");
        return Err(Failure::InvalidGrant("the code is not valid"));
    }
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(req.verifier.as_bytes()));
    let valid = row.client_id == client.id
        && row.expires_at > now
        && row.redirect_uri == req.redirect_uri
        && constant_time_eq(&challenge, &row.code_challenge);
    if !valid {
        txn.commit().await?;
        return Err(Failure::InvalidGrant("the code is not valid"));
    }
    if req.resource.is_some() && req.resource != row.resource.as_deref() {
        txn.commit().await?;
        return Err(Failure::InvalidTarget);
    }
    let Some(user) = match row.user_id {
        Some(id) => user::Entity::find_by_id(id).one(&txn).await?,
        None => None,
    }
    .filter(|u| u.is_active) else {
        txn.commit().await?;
        return Err(Failure::InvalidGrant("the code is not valid"));
    };
    let scopes = Scopes::stored(row.granted_scopes.as_deref().unwrap_or(""));
    // What approved the code must still stand: the session that decided
    // (a sign-out, reset or revocation since ends it) and the grant (a
    // revoked consent must be asked again). The session's row is written,
    // so a revocation running now is ordered before or after this.
    if !decider_live(&txn, &row, now).await? || !grant_covers(&txn, &row, client.id, scopes).await?
    {
        txn.commit().await?;
        return Err(Failure::InvalidGrant("the code is not valid"));
    }
    let amr = row.amr.clone().unwrap_or_default();
    let proof = Proof {
        at: row.auth_time.unwrap_or(now),
        assurance: Assurance::from_stored(&amr),
    };
    let sess = session::Model {
        oauth_client_id: Some(client.id),
        oauth_scopes: Some(scopes.to_space()),
        oauth_resource: row.resource.clone(),
        ..new_session(app, user.id, who, &proof, now)?
    };
    let sess = session::ActiveModel::from(sess).insert(&txn).await?;
    authz::Entity::update_many()
        .col_expr(authz::Column::OauthSessionId, Expr::value(Some(sess.id)))
        .filter(authz::Column::IdHash.eq(row.id_hash.clone()))
        .exec(&txn)
        .await?;
    let refresh = if scopes.has("offline_access") {
        Some(new_refresh_token(&txn, sess.id, sess.expires_at, now).await?)
    } else {
        None
    };
    touch_grant(&txn, user.id, client.id, now).await?;
    let (access, ttl, id_token) = tokens_for(app, &sess, &user, scopes, row.nonce.as_deref(), now)?;
    txn.commit().await?;
    Ok(Issued {
        access_token: access,
        expires_in: ttl,
        scope: scopes,
        id_token,
        refresh_token: refresh,
    })
}

/// Whether the session that approved `row` is still live (touched, so a
/// concurrent revocation waits for this transaction or wins before it).
async fn decider_live(
    txn: &DatabaseTransaction,
    row: &authz::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let Some(id) = row.decider_session_id else {
        return Ok(false);
    };
    let done = session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(Some(now)))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Whether the user's remembered grant for the client covers `scopes`.
async fn grant_covers(
    txn: &DatabaseTransaction,
    row: &authz::Model,
    client: Uuid,
    scopes: Scopes,
) -> Result<bool, sea_orm::DbErr> {
    let Some(user) = row.user_id else {
        return Ok(false);
    };
    let grant = oauth_grant::Entity::find()
        .filter(oauth_grant::Column::UserId.eq(user))
        .filter(oauth_grant::Column::ClientId.eq(client))
        .one(txn)
        .await?;
    Ok(grant.is_some_and(|g| Scopes::stored(&g.scopes).covers(scopes)))
}

/// Ends one session; true when it was live.
pub async fn end_session(
    conn: &impl sea_orm::ConnectionTrait,
    id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let done = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(now)))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The grant's `lastUsedAt`, at most once a minute.
async fn touch_grant(
    txn: &DatabaseTransaction,
    user: Uuid,
    client: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sea_orm::DbErr> {
    oauth_grant::Entity::update_many()
        .col_expr(oauth_grant::Column::LastUsedAt, Expr::value(Some(now)))
        .filter(oauth_grant::Column::UserId.eq(user))
        .filter(oauth_grant::Column::ClientId.eq(client))
        .filter(
            sea_orm::Condition::any()
                .add(oauth_grant::Column::LastUsedAt.is_null())
                .add(oauth_grant::Column::LastUsedAt.lt(now - LAST_USED_RESOLUTION)),
        )
        .exec(txn)
        .await?;
    Ok(())
}

/// `grant_type=refresh_token`: a new access token (for `scope`, a subset
/// of the granted, when asked) and the next refresh token.
#[tracing::instrument(skip_all)]
pub async fn refresh(
    app: &AppContext,
    client: &oauth_client::Model,
    presented: &str,
    scope: Option<&str>,
    who: &ClientInfo,
) -> Result<Issued, Failure> {
    if presented.is_empty() {
        return Err(Failure::InvalidRequest("refresh_token is required"));
    }
    if presented.len() > 256 {
        return Err(Failure::InvalidGrant("the refresh token is not valid"));
    }
    let now = now();
    let by_hash = || {
        refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(sha256_hex(presented)))
            .find_also_related(session::Entity)
    };
    // A made-up token costs one read and no write transaction.
    let Some((_, Some(pre))) = app.db.read().one_also(by_hash()).await? else {
        return Err(Failure::InvalidGrant("the refresh token is not valid"));
    };
    if pre.oauth_client_id != Some(client.id) {
        return Err(Failure::InvalidGrant("the refresh token is not valid"));
    }
    // A client narrowed since keeps only what it may still ask for.
    let granted = Scopes::stored(pre.oauth_scopes.as_deref().unwrap_or(""))
        .intersect(Scopes::stored(&client.allowed_scopes));
    let narrowed = match scope {
        None => granted,
        Some(raw) => match Scopes::parse_space(raw) {
            Ok(s) if !s.is_empty() && granted.covers(s) => s,
            _ => return Err(Failure::InvalidScope),
        },
    };
    let txn = app.db.write().await?;
    let Some((row, Some(sess))) = by_hash().one(&txn).await? else {
        txn.commit().await?;
        return Err(Failure::InvalidGrant("the refresh token is not valid"));
    };
    let won = spend_refresh_token(&txn, row.id, now).await?;
    if !won {
        if end_session(&txn, sess.id, now).await? {
            let origin = ClientInfo {
                session_id: Some(sess.id),
                ..who.clone()
            };
            events::record(&txn, sess.user_id, Kind::RefreshTokenReused, &origin, None).await?;
        }
        txn.commit().await?;
        tracing::warn!(session_id = %sess.id, "OAuth refresh token reused: session ended");
        return Err(Failure::InvalidGrant("the refresh token is not valid"));
    }
    let user = user::Entity::find_by_id(sess.user_id).one(&txn).await?;
    let live = row.expires_at > now && sess.revoked_at.is_none() && sess.expires_at > now;
    let Some(user) = user.filter(|u| u.is_active && live) else {
        txn.commit().await?;
        return Err(Failure::InvalidGrant("the refresh token is not valid"));
    };
    let next = new_refresh_token(&txn, sess.id, sess.expires_at, now).await?;
    touch_grant(&txn, user.id, client.id, now).await?;
    let (access, ttl, id_token) = tokens_for(app, &sess, &user, narrowed, None, now)?;
    txn.commit().await?;
    Ok(Issued {
        access_token: access,
        expires_in: ttl,
        scope: narrowed,
        id_token,
        refresh_token: Some(next),
    })
}
