//! Authenticating a request's credential: the `Authorization` header to
//! its `Viewer`, checked against the database on every request so that
//! revocation takes effect at once on every instance.

use entity::{session, user};
use sea_orm::EntityTrait;

use crate::auth::Viewer;
use crate::auth::assurance::{Assurance, Proof};
use crate::auth::viewer::{Authenticated, Credential};
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::api_tokens;
use crate::services::shared::last_used::{LAST_USED_RESOLUTION, touch_last_used};

/// Resolves an `Authorization` header to its viewer, or fails the request:
/// `Bearer <access JWT>` or `Token <API token>`; any other scheme, and any
/// credential that does not check out, is `UNAUTHENTICATED` (API.md §1).
#[tracing::instrument(skip_all)]
pub async fn authenticate(app: &AppContext, header: &str) -> Result<Viewer, AppError> {
    let (scheme, credential) = header
        .trim()
        .split_once(' ')
        .ok_or(AppError::Unauthenticated)?;
    let credential = credential.trim();
    let who = if scheme.eq_ignore_ascii_case("bearer") {
        authenticate_session(app, credential).await?
    } else if scheme.eq_ignore_ascii_case("token") {
        api_tokens::authenticate(app, credential).await?
    } else {
        return Err(AppError::Unauthenticated);
    };
    Ok(Viewer::User(Box::new(who)))
}

/// The per-request check of a Bearer token: one query by primary key (the
/// session joined with its user) proves the session live and the user active.
async fn authenticate_session(app: &AppContext, token: &str) -> AppResult<Authenticated> {
    let (user_id, session_id) = app.keys.verify(token).ok_or(AppError::Unauthenticated)?;
    let now = now();
    let Some((sess, Some(user))) = app
        .db
        .read()
        .one_also_by_id(session_id, |id| {
            session::Entity::find_by_id(id).find_also_related(user::Entity)
        })
        .await?
    else {
        return Err(AppError::Unauthenticated);
    };
    if sess.revoked_at.is_some() || sess.expires_at <= now || user.id != user_id || !user.is_active
    {
        return Err(AppError::Unauthenticated);
    }
    if sess
        .last_used_at
        .is_none_or(|t| t < now - LAST_USED_RESOLUTION)
    {
        touch_last_used::<session::Entity>(
            &app.db,
            session::Column::Id,
            session::Column::LastUsedAt,
            session_id,
            now,
        );
    }
    Ok(Authenticated {
        user,
        credential: Credential::Session(session_id),
        proof: Some(Proof {
            at: sess.authenticated_at,
            assurance: Assurance::from_stored(&sess.amr),
        }),
    })
}
