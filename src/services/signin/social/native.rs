//! Native apps' ID tokens (API.md §9.1): `signInWithIdToken` and
//! `linkIdentityWithIdToken` take the ID token an app got from the
//! provider's SDK. Verified as the browser flow's are (with the native
//! client ids as audiences and the nonce or its SHA-256), and each token
//! accepted once: it is remembered, as a used social code keyed by its
//! hash, until it expires.

use std::str::FromStr;

use entity::social_code;
use openidconnect::core::CoreIdToken;
use sea_orm::EntityTrait;
use sea_orm::sea_query::OnConflict;
use uuid::Uuid;

use crate::auth::tokens::sha256_hex;
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::login_limits::{ip_failed, ip_refused};
use crate::services::shared::client::ClientInfo;
use crate::services::signin::social::id_token::{self, Expect};

/// The longest ID token read.
const MAX_ID_TOKEN: usize = 16 * 1024;

/// The identity a native app's ID token proves, once per token. A token
/// that does not verify is `INVALID_TOKEN` and counts against the client
/// IP's login limit.
#[tracing::instrument(skip_all, fields(provider = %name))]
pub async fn verified(
    app: &AppContext,
    name: &str,
    token: &str,
    nonce: &str,
    client: &ClientInfo,
) -> AppResult<social_code::Model> {
    let Some(provider) = app.settings.social.provider(name) else {
        return Err(AppError::field(
            "provider",
            "is not an OpenID provider configured here",
        ));
    };
    if let Some(wait) = ip_refused(&app.db, &app.settings, &client.ip).await? {
        return Err(AppError::RateLimited {
            retry_after_secs: wait,
        });
    }
    let refused = || async {
        ip_failed(&app.db, &app.settings, &client.ip).await?;
        Err::<social_code::Model, AppError>(AppError::InvalidToken)
    };
    if token.is_empty() || token.len() > MAX_ID_TOKEN || nonce.len() > 512 {
        return refused().await;
    }
    let Ok(id_token) = CoreIdToken::from_str(token) else {
        return refused().await;
    };
    let metadata = match app.social.metadata(provider, false).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(reason = %e.0, "a provider is unavailable");
            return Err(AppError::ServiceUnavailable {
                retry_after_secs: 5,
            });
        }
    };
    let claims =
        match id_token::verify(app, provider, &metadata, &id_token, Expect::Native(nonce)).await {
            Ok(claims) => claims,
            Err(why) => {
                tracing::info!(reason = %why, "a native ID token did not verify");
                return refused().await;
            }
        };
    let mut clients: Vec<&str> = vec![provider.client_id.as_str()];
    clients.extend(provider.native_client_ids.iter().map(String::as_str));
    let Ok(asserted) = id_token::asserted(&claims, &clients) else {
        return refused().await;
    };
    let now = now();
    let skew = chrono::Duration::from_std(app.settings.social.clock_skew).unwrap_or_default();
    let row = social_code::Model {
        id: Uuid::now_v7(),
        code_hash: sha256_hex(&format!("id-token:{}", signed_part(token))),
        provider: provider.name.clone(),
        issuer: asserted.issuer,
        subject: asserted.subject,
        email: asserted.email,
        email_verified: asserted.email_verified,
        given_name: asserted.given_name,
        family_name: asserted.family_name,
        code_challenge: None,
        created_at: now,
        // Verification accepts it until `exp` + OIDC_CLOCK_SKEW: remembered
        // as long.
        expires_at: claims.expiration() + skew,
        consumed_at: Some(now),
    };
    // Accepted once: a second use finds the token remembered.
    let inserted = social_code::Entity::insert(social_code::ActiveModel::from(row.clone()))
        .on_conflict(
            OnConflict::column(social_code::Column::CodeHash)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(app.db.alone())
        .await?;
    if inserted != 1 {
        return refused().await;
    }
    Ok(row)
}

/// What makes a token the same token: its header and payload, which its
/// signature covers. The signature's own encoding is not unique (unused
/// trailing bits of base64, an ECDSA `s` or `n - s`), so a token re-encoded
/// that still verifies is still the token already used.
fn signed_part(token: &str) -> &str {
    token.rsplit_once('.').map_or(token, |(signed, _)| signed)
}

/// Forgets a token's use (`HOOK_FAILED` uses nothing up).
pub async fn forget(app: &AppContext, row: &social_code::Model) -> AppResult<()> {
    social_code::Entity::delete_by_id(row.id)
        .exec(app.db.alone())
        .await?;
    Ok(())
}

/// `signInWithIdToken`: the account rules decide, as for
/// `exchangeSocialCode`.
#[tracing::instrument(skip_all)]
pub async fn sign_in(
    app: &AppContext,
    name: &str,
    token: &str,
    nonce: &str,
    client: &ClientInfo,
) -> AppResult<crate::services::signin::login::LoginOutcome> {
    let row = verified(app, name, token, nonce, client).await?;
    let outcome = crate::services::signin::social::accounts::sign_in(app, &row, client).await;
    if let Err(AppError::HookFailed(_)) = &outcome {
        forget(app, &row).await?;
    }
    outcome
}
