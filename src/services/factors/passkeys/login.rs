//! Signing in with a passkey: no password and no second factor (the
//! passkey's user verification is both), a session like `login`'s that
//! counts as fresh, and every failure `INVALID_CREDENTIALS`, counted
//! against the client's IP like a wrong password.

use entity::{passkey, user};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, DiscoverableKey, PublicKeyCredential,
};

use super::ceremony::{self, Purpose, Taken, credential_key};
use super::stored;
use crate::auth::assurance::{Assurance, Method};
use crate::config::RateLimit;
use crate::db::now;
use crate::domain::Email;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::login_limits::LoginLimits;
use crate::services::credentials::sessions::{
    Tokens, open_session, prepare, proved_now, record_sign_in,
};
use crate::services::shared::accounts;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::rate_limit::{self, Verdict, ip_key};
use crate::services::shared::security_events::{self as events, How};

/// Starts a sign-in: the options for `navigator.credentials.get`. With an
/// address, only that account's passkeys will do; an unknown address gets
/// the same answer, and its sign-in then fails.
/// Passkey sign-ins one client IP may begin per minute (API.md §8.9).
const BEGIN_RATE: RateLimit = RateLimit {
    max: 30,
    window: std::time::Duration::from_secs(60),
};

#[tracing::instrument(skip_all)]
pub async fn begin_login(
    app: &AppContext,
    email: Option<&str>,
    client: &ClientInfo,
) -> AppResult<(Uuid, Value)> {
    let webauthn = app.passkeys.webauthn()?;
    // Anyone may begin one, and each stores a row: per client IP at most
    // `BEGIN_RATE` a minute and `MAX_UNFINISHED_PER_CLIENT` unfinished.
    let client_key = ip_key("passkey-login", &client.ip);
    if let Verdict::Limited { retry_after_secs } =
        rate_limit::hit(app.db.alone(), &client_key, BEGIN_RATE, now()).await?
    {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    ceremony::ensure_room(app, &client_key).await?;
    let named = match email.map(str::trim).filter(|e| !e.is_empty()) {
        None => None,
        Some(raw) => {
            let found = match Email::parse(raw) {
                Ok(email) => accounts::find_by_email(app.db.alone(), &email).await?,
                Err(_) => None,
            };
            // Nobody has the nil id: the ceremony can then never succeed.
            Some(found.map_or(Uuid::nil(), |u| u.id))
        }
    };
    let (options, state) = webauthn
        .start_discoverable_authentication()
        .map_err(AppError::internal)?;
    let options = serde_json::to_value(options.public_key).map_err(AppError::internal)?;
    let id = ceremony::store(app, named, Purpose::Login, &state, Some(client_key)).await?;
    Ok((id, options))
}

/// Finishes a sign-in with the browser's assertion.
#[tracing::instrument(skip_all)]
pub async fn finish_login(
    app: &AppContext,
    challenge_id: Uuid,
    credential: Value,
    client: &ClientInfo,
) -> AppResult<Tokens> {
    let webauthn = app.passkeys.webauthn()?;
    let credential: PublicKeyCredential = serde_json::from_value(credential)
        .map_err(|_| AppError::field("credential", "is not a WebAuthn credential"))?;
    let key = credential_key(credential.raw_id.as_ref());
    let limits = LoginLimits::new(&app.settings, &format!("passkey:{key}"), &client.ip);
    let attempt = limits
        .begin(&app.db, app.settings.hash_queue_timeout)
        .await?;
    let judged = judge(app, webauthn, challenge_id, &credential, &key).await;
    let (user, row, result, ceremony) = match judged {
        Ok(found) => {
            attempt.succeeded().await?;
            found
        }
        Err(owner) => {
            attempt.failed().await?;
            if let Some(owner) = owner {
                events::record_alone(
                    &app.db,
                    owner,
                    Kind::LoginFailed,
                    client,
                    How::method(Method::Hwk),
                )
                .await;
            }
            app.metrics
                .logins
                .with_label_values(&["invalid_credentials"])
                .inc();
            return Err(AppError::InvalidCredentials);
        }
    };
    if !user.is_active {
        app.metrics.logins.with_label_values(&["not_active"]).inc();
        return Err(AppError::AccountNotActive);
    }
    let mut passkey = stored(&row)?;
    passkey.update_credential(&result);
    // webauthn-rs verified the user (`judge` refuses otherwise): aal2.
    let proof = proved_now(Assurance::first(Method::Hwk));
    let opening = match prepare(app, &user, client, proof).await {
        Ok(opening) => opening,
        Err(e) => {
            if matches!(e, AppError::HookFailed(_)) {
                // `HOOK_FAILED` uses nothing up (API.md §11.5): the same
                // assertion may be sent again.
                ceremony.give_back(app).await?;
            }
            return Err(e);
        }
    };
    let txn = app.db.write().await?;
    let mut active: passkey::ActiveModel = row.into();
    active.credential = Set(serde_json::to_string(&passkey).map_err(AppError::internal)?);
    active.last_used_at = Set(Some(now()));
    active.update(&txn).await?;
    let tokens = open_session(&txn, app, user, opening).await?;
    record_sign_in(&txn, &tokens, client, None).await?;
    txn.commit().await?;
    app.metrics.logins.with_label_values(&["success"]).inc();
    Ok(tokens)
}

/// The account, its passkey, webauthn-rs's verdict and the ceremony it
/// used up.
type Judged = (
    user::Model,
    passkey::Model,
    AuthenticationResult,
    Taken<DiscoverableAuthentication>,
);

/// The account, its passkey and webauthn-rs's verdict; on failure, the
/// account the credential belongs to, if any (for its event).
async fn judge(
    app: &AppContext,
    webauthn: &webauthn_rs::Webauthn,
    challenge_id: Uuid,
    credential: &PublicKeyCredential,
    key: &str,
) -> Result<Judged, Option<Uuid>> {
    let row = passkey::Entity::find().filter(passkey::Column::CredentialId.eq(key));
    let row = app.db.read().one(row).await.ok().flatten();
    let owner = row.as_ref().map(|r| r.user_id);
    let taken = ceremony::take::<DiscoverableAuthentication>(app, challenge_id, Purpose::Login)
        .await
        .ok()
        .flatten();
    let (Some(row), Some(taken)) = (row, taken) else {
        return Err(owner);
    };
    let named = taken.owner;
    // The credential's own claim of its account must match the row, and
    // an address named at the start must be that account's.
    let claimed = webauthn
        .identify_discoverable_authentication(credential)
        .map(|(user, _)| user)
        .ok();
    if claimed != Some(row.user_id) || named.is_some_and(|n| n != row.user_id) {
        return Err(owner);
    }
    let passkey = stored(&row).map_err(|_| owner)?;
    let result = webauthn
        .finish_discoverable_authentication(
            credential,
            taken.state.clone(),
            &[DiscoverableKey::from(&passkey)],
        )
        .map_err(|_| owner)?;
    if !result.user_verified() {
        return Err(owner);
    }
    let user = accounts::find(app, row.user_id)
        .await
        .ok()
        .flatten()
        .ok_or(owner)?;
    Ok((user, row, result, taken))
}
