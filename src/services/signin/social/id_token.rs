//! Verifying a provider's ID token (API.md §9.1): its signature with one
//! of the provider's advertised asymmetric algorithms and keys, `iss`,
//! `aud` (and `azp` with several audiences), `exp`/`iat` within
//! `OIDC_CLOCK_SKEW`, and our nonce. A key the cached JWKS does not hold
//! (the provider rotated) fetches the provider's keys once more.

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{ClaimsVerificationError, ClientId, Nonce, SignatureVerificationError};

use crate::config::OidcProvider;
use crate::services::AppContext;

/// Never `none`, never HMAC (a shared secret signs nothing we accept).
fn asymmetric(alg: &CoreJwsSigningAlgorithm) -> bool {
    !matches!(
        alg,
        CoreJwsSigningAlgorithm::None
            | CoreJwsSigningAlgorithm::HmacSha256
            | CoreJwsSigningAlgorithm::HmacSha384
            | CoreJwsSigningAlgorithm::HmacSha512
    )
}

/// The algorithms a provider advertises for ID tokens, asymmetric ones only.
pub fn allowed_algs(metadata: &CoreProviderMetadata) -> Vec<CoreJwsSigningAlgorithm> {
    metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter(|a| asymmetric(a))
        .cloned()
        .collect()
}

fn check(
    app: &AppContext,
    provider: &OidcProvider,
    metadata: &CoreProviderMetadata,
    id_token: &CoreIdToken,
    nonce: &Nonce,
) -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
    let skew = chrono::Duration::from_std(app.settings.social.clock_skew).unwrap_or_default();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(provider.client_id.clone()),
        metadata.issuer().clone(),
        metadata.jwks().clone(),
    )
    .set_allowed_algs(allowed_algs(metadata))
    // `aud` must contain our client id; others may be there (azp: caller).
    .set_other_audience_verifier_fn(|_| true)
    .set_time_fn(move || Utc::now() - skew)
    .set_issue_time_verifier_fn(move |iat: DateTime<Utc>| match iat <= Utc::now() + skew {
        true => Ok(()),
        false => Err("issued in the future".into()),
    });
    id_token.claims(&verifier, nonce).cloned()
}

/// The ID token's verified claims. An unknown key refetches the provider's
/// metadata and keys (at most every 10 seconds) and verifies once more.
pub async fn verify(
    app: &AppContext,
    provider: &OidcProvider,
    metadata: &CoreProviderMetadata,
    id_token: &CoreIdToken,
    nonce: &Nonce,
) -> Result<CoreIdTokenClaims, String> {
    match check(app, provider, metadata, id_token, nonce) {
        Ok(claims) => Ok(claims),
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            let fresh = app.social.metadata(provider, true).await.map_err(|e| e.0)?;
            check(app, provider, &fresh, id_token, nonce)
                .map_err(|e| format!("the ID token does not verify: {e}"))
        }
        Err(e) => Err(format!("the ID token does not verify: {e}")),
    }
}
