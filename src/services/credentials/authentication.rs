//! Authenticating a request's credential: the `Authorization` header to
//! its `Viewer`, checked against the database on every request so that
//! revocation takes effect at once on every instance.

use entity::{membership, session, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::auth::Viewer;
use crate::auth::assurance::{Assurance, Proof};
use crate::auth::viewer::{Authenticated, Credential, active_organization};
use crate::db::now;
use crate::domain::organization::Role;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::api_tokens;
use crate::services::credentials::minting::is_provider_session;
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
    let claims = app.keys.verify(token).ok_or(AppError::Unauthenticated)?;
    let (user_id, session_id) = (claims.user, claims.session);
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
    if sess.revoked_at.is_some()
        || sess.expires_at <= now
        || user.id != user_id
        || !user.is_active
        || is_provider_session(&sess)
    {
        return Err(AppError::Unauthenticated);
    }
    // A token tells the truth about organizations (API.md §10.4): its
    // org claims must be the user's membership now. Every membership
    // change rewrites the sessions that have its organization active, so
    // claims equal to the session's are current without another read; a
    // token of an organization the session has since switched from is
    // checked against the membership itself.
    let organization = match claims.org {
        None => None,
        Some((id, role)) => {
            let now_in = match active_organization(&sess) {
                Some((active, current)) if active == id => Some(current),
                _ => current_role(app, id, user.id).await?,
            };
            match now_in {
                Some(current) if current.claim() == role => Some((id, current)),
                _ => return Err(AppError::Unauthenticated),
            }
        }
    };
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
        organization,
        proof: Some(Proof {
            at: sess.authenticated_at,
            assurance: Assurance::from_stored(&sess.amr),
        }),
    })
}

/// `user`'s role in `org` now, if a member.
async fn current_role(
    app: &AppContext,
    org: uuid::Uuid,
    user: uuid::Uuid,
) -> AppResult<Option<Role>> {
    let select = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org))
        .filter(membership::Column::UserId.eq(user));
    let found = app.db.read().one(select).await?;
    Ok(found.and_then(|m| Role::parse(&m.role)))
}
