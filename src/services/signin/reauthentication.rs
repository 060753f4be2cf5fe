//! `reauthenticate`: the session's user proves who they are again, with
//! the password and, when a second factor is on, its code (API.md §8.1,
//! §8.8). A sign-in step, so it sits above the guards of `fresh`.

use chrono::{DateTime, Utc};

use crate::auth::assurance::{Assurance, Method, Proof};
use crate::auth::viewer::Authenticated;
use crate::db::now;
use crate::domain::Email;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::password_check::{self, Identifier};
use crate::services::credentials::sessions;
use crate::services::factors::otp::{self, ChallengeIssued};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_session;
use crate::services::shared::security_events as events;
use crate::services::shared::two_factor;

pub enum Reauthenticated {
    /// The session is fresh from this time on.
    Fresh(DateTime<Utc>),
    /// Two-factor is on: the session becomes fresh when `verifyOtp` takes
    /// this challenge's code.
    Challenge(ChallengeIssued),
}

/// Makes the current session fresh after checking the password (counted
/// like a login's), or with two-factor on opens a challenge bound to it.
#[tracing::instrument(skip_all)]
pub async fn reauthenticate(
    app: &AppContext,
    who: &Authenticated,
    password: &str,
    client: &ClientInfo,
) -> AppResult<Reauthenticated> {
    let (session_id, _) = require_session(who)?;
    let password = password_check::given_password(password, "password")?;
    let identifier = Identifier::Email(Email::parse(&who.user.email).map_err(AppError::internal)?);
    let user = password_check::check_password(app, &identifier, &password, client).await?;
    if two_factor::any_on(app, &user) {
        let challenge = otp::start_challenge(
            app,
            &user,
            otp::FirstStep {
                method: Method::Pwd,
                provider: None,
                session: Some(session_id),
                link_code: None,
            },
        )
        .await?;
        return Ok(Reauthenticated::Challenge(challenge));
    }
    let now = now();
    let txn = app.db.write().await?;
    let proof = Proof {
        at: now,
        assurance: Assurance::first(Method::Pwd),
    };
    if !sessions::record_proof(&txn, session_id, &proof).await? {
        txn.rollback().await.ok();
        return Err(AppError::Unauthenticated);
    }
    let how = events::How::signed_in(&proof.assurance);
    events::record_how(&txn, user.id, Kind::Reauthenticated, client, None, how).await?;
    txn.commit().await?;
    Ok(Reauthenticated::Fresh(now))
}
