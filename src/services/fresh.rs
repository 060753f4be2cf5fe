//! Fresh sessions (API.md §8.1): sensitive changes need the user to have
//! proved who they are recently, so a stolen access token alone cannot make
//! itself permanent (mint an API token, add a second factor, change the
//! address). One guard, `require_fresh`, for every such change.

use chrono::{DateTime, Utc};
use entity::session;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::auth::viewer::{Authenticated, Credential};
use crate::db::{begin_write, now};
use crate::domain::SecurityEventType as Kind;
use crate::domain::{Email, Password};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::login::{self, Identifier};
use crate::services::otp::{self, ChallengeIssued};
use crate::services::security_events as events;
use crate::services::sessions::ClientInfo;
use crate::services::two_factor;

/// Passes when the request's session proved its user within
/// `PRIVILEGED_SESSION_TTL`. A request made with an API token is never
/// fresh: `FORBIDDEN`, as no sign-in can make it so.
pub fn require_fresh(app: &AppContext, who: &Authenticated) -> AppResult<()> {
    let (Credential::Session(_), Some(at)) = (who.credential, who.authenticated_at) else {
        return Err(AppError::Forbidden);
    };
    let ttl = chrono::Duration::from_std(app.settings.privileged_session_ttl)
        .unwrap_or(chrono::Duration::MAX);
    if now() - at <= ttl {
        Ok(())
    } else {
        Err(AppError::ReauthenticationRequired)
    }
}

pub enum Reauthenticated {
    /// The session is fresh from this time on.
    Fresh(DateTime<Utc>),
    /// Two-factor is on: the session becomes fresh when `verifyOtp` takes
    /// this challenge's code.
    Challenge(ChallengeIssued),
}

/// Makes the current session fresh after checking the password (counted
/// like a login's), or with two-factor on opens a challenge bound to it.
pub async fn reauthenticate(
    app: &AppContext,
    who: &Authenticated,
    password: &str,
    client: &ClientInfo,
) -> AppResult<Reauthenticated> {
    let Credential::Session(session_id) = who.credential else {
        return Err(AppError::Forbidden);
    };
    let password = Password::parse_for_login(password).map_err(|_| AppError::InvalidCredentials)?;
    let identifier = Identifier::Email(Email::parse(&who.user.email).map_err(AppError::internal)?);
    let user = login::check_password(app, &identifier, &password, client).await?;
    if two_factor::any_on(app, &user) {
        let challenge = otp::start_challenge(app, &user, Some(session_id)).await?;
        return Ok(Reauthenticated::Challenge(challenge));
    }
    let now = now();
    let txn = begin_write(&app.db).await?;
    let updated = session::Entity::update_many()
        .col_expr(session::Column::AuthenticatedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if updated != 1 {
        txn.rollback().await.ok();
        return Err(AppError::Unauthenticated);
    }
    events::record(&txn, user.id, Kind::Reauthenticated, client, None).await?;
    txn.commit().await?;
    Ok(Reauthenticated::Fresh(now))
}
