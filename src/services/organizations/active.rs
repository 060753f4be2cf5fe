//! The session's active organization (API.md §10.4): set by its member,
//! carried as `org_id`/`org_role` by every access token the session mints,
//! and kept equal to the membership by every change to it (`access`).

use entity::session;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::access::locked_org;
use super::orgs;
use crate::auth::viewer::{Authenticated, active_organization};
use crate::db::now;
use crate::domain::organization::Role;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::minting::drafted;
use crate::services::credentials::sessions::{self, Tokens, proof_of};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_session;

/// The session as it will stand with `org` (and the role) active.
fn with_active(sess: session::Model, org: Option<Uuid>, role: Option<Role>) -> session::Model {
    session::Model {
        active_org_id: org,
        active_org_role: role.map(|r| r.as_str().to_owned()),
        ..sess
    }
}

/// `setActiveOrganization`: new tokens for the same session (same `sid`
/// and `auth_time`) claiming `org` (`None` clears it); the session's
/// earlier refresh tokens are used up. An API token is `FORBIDDEN`; a
/// non-member's organization `NOT_FOUND`. The claims hook is asked before
/// the write transaction (never while it holds the organization's lock or
/// SQLite's writer); a failed hook changes nothing.
#[tracing::instrument(skip_all)]
pub async fn set(
    app: &AppContext,
    who: &Authenticated,
    org: Option<Uuid>,
    client: &ClientInfo,
) -> AppResult<Tokens> {
    let (session_id, _) = require_session(who)?;
    let user = who.user.id;
    let role = match org {
        Some(id) => Some(
            orgs::find(app, user, id)
                .await?
                .ok_or(AppError::NotFound)?
                .role,
        ),
        None => None,
    };
    let current = app
        .db
        .read()
        .one(session::Entity::find_by_id(session_id))
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let planned = with_active(current, org, role);
    let proof = proof_of(&planned);
    let draft = drafted(app, &who.user, &planned, &proof, true, client, now()).await?;

    let txn = app.db.write().await?;
    // Under the organization's lock: a removal or role change waits for
    // this, and this sees the membership as it is after one.
    let locked_role = match org {
        Some(org) => Some(locked_org(&txn, org, user).await?.role),
        None => None,
    };
    let updated = session::Entity::update_many()
        .col_expr(session::Column::ActiveOrgId, Expr::value(org))
        .col_expr(
            session::Column::ActiveOrgRole,
            Expr::value(locked_role.map(|r| r.as_str().to_owned())),
        )
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now()))
        .exec_with_returning(&txn)
        .await?;
    let Some(sess) = updated.into_iter().next() else {
        return Err(AppError::Unauthenticated);
    };
    // The role changed between the read and the lock (rare): drafted anew.
    let draft = (active_organization(&sess) == active_organization(&planned)
        && sess.authenticated_at == planned.authenticated_at
        && sess.amr == planned.amr)
        .then_some(draft);
    let proof = proof_of(&sess);
    let tokens =
        sessions::reissue(&txn, app, &sess, who.user.clone(), proof, client, draft).await?;
    txn.commit().await?;
    Ok(tokens)
}
