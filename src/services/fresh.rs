//! Fresh sessions (API.md §8.1): sensitive changes need the user to have
//! proved who they are recently, so a stolen access token alone cannot make
//! itself permanent (mint an API token, add a second factor, change the
//! address). One guard, `require_fresh`, for every such change.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::assurance::{Assurance, Method, Proof};
use crate::auth::viewer::{Authenticated, Credential};
use crate::db::{begin_write, now};
use crate::domain::Email;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::login::{self, Identifier};
use crate::services::otp::{self, ChallengeIssued};
use crate::services::security_events as events;
use crate::services::sessions::{self, ClientInfo};
use crate::services::two_factor;

/// Passes for a request made with a session; an API token is for calling
/// APIs, not for managing the account (API.md §8.8): `FORBIDDEN` for
/// anything that adds, removes or changes a credential, whatever else the
/// caller proves (a password included). Answers the session and its proof.
pub fn require_session(who: &Authenticated) -> AppResult<(Uuid, &Proof)> {
    match (who.credential, &who.proof) {
        (Credential::Session(id), Some(proof)) => Ok((id, proof)),
        _ => Err(AppError::Forbidden),
    }
}

/// The one guard of *fresh* mutations (API.md §8.1, §8.8): a session (never
/// an API token) whose user proved who they are within
/// `PRIVILEGED_SESSION_TTL`, at `aal2` when the account has a second factor
/// on, so a password alone never weakens or extends what the factor guards.
pub fn require_fresh(app: &AppContext, who: &Authenticated) -> AppResult<()> {
    let (_, proof) = require_session(who)?;
    let strong = proof.assurance.is_aal2() || !two_factor::any_on(app, &who.user);
    if is_recent(app, who) && strong {
        Ok(())
    } else {
        Err(AppError::ReauthenticationRequired)
    }
}

/// Whether the session proved its user within `PRIVILEGED_SESSION_TTL`,
/// whatever its level: what decides if turning on a first second factor
/// raises it (API.md §8.8).
pub fn is_recent(app: &AppContext, who: &Authenticated) -> bool {
    let ttl = chrono::Duration::from_std(app.settings.privileged_session_ttl)
        .unwrap_or(chrono::Duration::MAX);
    who.proof.as_ref().is_some_and(|p| now() - p.at <= ttl)
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
    let (session_id, _) = require_session(who)?;
    let password = login::given_password(password, "password")?;
    let identifier = Identifier::Email(Email::parse(&who.user.email).map_err(AppError::internal)?);
    let user = login::check_password(app, &identifier, &password, client).await?;
    if two_factor::any_on(app, &user) {
        let challenge = otp::start_challenge(app, &user, Some(session_id)).await?;
        return Ok(Reauthenticated::Challenge(challenge));
    }
    let now = now();
    let txn = begin_write(&app.db).await?;
    let proof = Proof {
        at: now,
        assurance: Assurance::first(Method::Pwd),
    };
    if !sessions::record_proof(&txn, session_id, &proof).await? {
        txn.rollback().await.ok();
        return Err(AppError::Unauthenticated);
    }
    events::record(&txn, user.id, Kind::Reauthenticated, client, None).await?;
    txn.commit().await?;
    Ok(Reauthenticated::Fresh(now))
}
