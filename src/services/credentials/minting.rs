//! Drafting a session's access token before any write transaction: the
//! session's id and expiry chosen, its claims shown to the custom-claims
//! hook (API.md §11.5), so the hook's HTTP call never holds a write lock
//! (on SQLite, every writer's).

use chrono::{DateTime, Utc};
use entity::{organization, session, user};
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::auth::assurance::Proof;
use crate::auth::jwt::Draft;
use crate::auth::viewer::active_organization;
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::claims_hook::{self, Minting};
use crate::services::shared::client::ClientInfo;

/// When a session's refresh tokens stop: `REFRESH_TOKEN_TTL` from now, but
/// never past `SESSION_MAX_AGE` from the login that began it.
pub fn session_expiry(
    app: &AppContext,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<DateTime<Utc>> {
    let ttl =
        chrono::Duration::from_std(app.settings.refresh_token_ttl).map_err(AppError::internal)?;
    let max_age =
        chrono::Duration::from_std(app.settings.session_max_age).map_err(AppError::internal)?;
    Ok(Ord::min(now + ttl, created_at + max_age))
}

/// A session's access-token claims with what the custom-claims hook adds
/// (API.md §11.5); under `HOOK_FAILURE=deny` its failure is the caller's.
pub async fn drafted(
    app: &AppContext,
    user: &user::Model,
    session: &session::Model,
    proof: &Proof,
    existing: bool,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> AppResult<Draft> {
    let ttl = app.settings.access_token_ttl;
    let mut draft = app.keys.draft(user, session.id, proof, ttl, now);
    let active = active_organization(session);
    if let Some((id, role)) = active {
        draft.with_organization(id, role);
    }
    // Only the hook is shown the slug: read only when there is one.
    let organization = match active {
        Some((id, role)) if app.settings.webhooks.claims_hook.is_some() => {
            let org = app
                .db
                .read()
                .one(organization::Entity::find_by_id(id))
                .await?;
            org.map(|o| (id, o.slug, role))
        }
        _ => None,
    };
    let minting = Minting {
        user,
        session,
        proof,
        existing,
        organization,
    };
    claims_hook::add_claims(app, &mut draft, minting, client).await?;
    Ok(draft)
}

/// A session about to open: its id and time chosen and its access token's
/// claims drafted (and shown to the claims hook) before the caller's write
/// transaction begins, so the hook's call never holds one.
pub struct Opening {
    pub session: session::Model,
    pub proof: Proof,
    pub draft: Draft,
}

/// A new session's row: `user`'s, proved by `proof`, from `client`, for
/// `REFRESH_TOKEN_TTL` (within `SESSION_MAX_AGE`).
pub fn new_session(
    app: &AppContext,
    user: Uuid,
    client: &ClientInfo,
    proof: &Proof,
    now: DateTime<Utc>,
) -> AppResult<session::Model> {
    Ok(session::Model {
        id: Uuid::now_v7(),
        user_id: user,
        created_at: now,
        last_used_at: Some(now),
        expires_at: session_expiry(app, now, now)?,
        revoked_at: None,
        user_agent: client.user_agent.clone(),
        ip: Some(client.ip.clone()),
        authenticated_at: proof.at,
        aal: proof.assurance.aal().to_owned(),
        amr: proof.assurance.stored(),
        active_org_id: None,
        active_org_role: None,
        provider: None,
        oauth_client_id: None,
        oauth_scopes: None,
        oauth_resource: None,
        browser_hash: None,
    })
}

/// Prepares a new session for `user`, proved by `proof`.
#[tracing::instrument(skip_all)]
pub async fn prepare(
    app: &AppContext,
    user: &user::Model,
    client: &ClientInfo,
    proof: Proof,
) -> AppResult<Opening> {
    let now = now();
    let session = new_session(app, user.id, client, &proof, now)?;
    let draft = drafted(app, user, &session, &proof, false, client, now).await?;
    Ok(Opening {
        session,
        proof,
        draft,
    })
}

/// Whether a session belongs to the OAuth provider (an OAuth session of a
/// client, or a browser session of its pages): neither is a first-party
/// session, so neither refreshes nor authenticates `/graphql`.
pub fn is_provider_session(sess: &session::Model) -> bool {
    sess.oauth_client_id.is_some() || sess.browser_hash.is_some()
}
