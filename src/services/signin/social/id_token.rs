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
use sha2::{Digest, Sha256};

use crate::config::OidcProvider;
use crate::domain::Email;
use crate::services::AppContext;
use crate::services::shared::accounts::parse_name;

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

/// What the token's audience and nonce must be.
#[derive(Clone, Copy)]
pub enum Expect<'a> {
    /// The browser flow: our client id, and the flow's nonce exactly.
    Flow(&'a Nonce),
    /// A native app's token (`signInWithIdToken`): our client id or one of
    /// `OIDC_<NAME>_NATIVE_CLIENT_IDS`, and a nonce equal to the argument
    /// or to its lowercase hexadecimal SHA-256 (Apple's SDKs hash it).
    Native(&'a str),
}

fn check(
    app: &AppContext,
    provider: &OidcProvider,
    metadata: &CoreProviderMetadata,
    id_token: &CoreIdToken,
    expect: Expect<'_>,
) -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
    let skew = chrono::Duration::from_std(app.settings.social.clock_skew).unwrap_or_default();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(provider.client_id.clone()),
        metadata.issuer().clone(),
        metadata.jwks().clone(),
    )
    .set_allowed_algs(allowed_algs(metadata))
    // Other audiences may be there (azp: the caller); a native app's
    // token may name only the app (checked below).
    .set_other_audience_verifier_fn(|_| true)
    .require_audience_match(matches!(expect, Expect::Flow(_)))
    .set_time_fn(move || Utc::now() - skew)
    .set_issue_time_verifier_fn(move |iat: DateTime<Utc>| match iat <= Utc::now() + skew {
        true => Ok(()),
        false => Err("issued in the future".into()),
    });
    let claims = match expect {
        Expect::Flow(nonce) => id_token.claims(&verifier, nonce)?.clone(),
        Expect::Native(raw) => {
            let hashed = hex::encode(Sha256::digest(raw.as_bytes()));
            let nonce_ok = |n: Option<&Nonce>| match n {
                Some(n) if !raw.is_empty() && (n.secret() == raw || *n.secret() == hashed) => {
                    Ok(())
                }
                _ => Err("the nonce is missing or another".to_owned()),
            };
            let claims = id_token.claims(&verifier, nonce_ok)?.clone();
            let ours = claims.audiences().iter().any(|a| {
                **a == provider.client_id || provider.native_client_ids.iter().any(|n| **a == *n)
            });
            if !ours {
                return Err(ClaimsVerificationError::InvalidAudience(
                    "not one of this provider's clients".into(),
                ));
            }
            claims
        }
    };
    Ok(claims)
}

/// The ID token's verified claims. An unknown key refetches the provider's
/// metadata and keys (at most every 10 seconds) and verifies once more.
pub async fn verify(
    app: &AppContext,
    provider: &OidcProvider,
    metadata: &CoreProviderMetadata,
    id_token: &CoreIdToken,
    expect: Expect<'_>,
) -> Result<CoreIdTokenClaims, String> {
    match check(app, provider, metadata, id_token, expect) {
        Ok(claims) => Ok(claims),
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            let fresh = app.social.metadata(provider, true).await.map_err(|e| e.0)?;
            check(app, provider, &fresh, id_token, expect)
                .map_err(|e| format!("the ID token does not verify: {e}"))
        }
        Err(e) => Err(format!("the ID token does not verify: {e}")),
    }
}

/// What a verified ID token tells of its user, as this server stores it.
pub struct Asserted {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

/// The user a verified token asserts. `clients`: the client ids the token
/// may have been issued to (OpenID Connect Core §3.1.3.7: with several
/// audiences, `azp` must be one of ours; any `azp` must be).
pub fn asserted(claims: &CoreIdTokenClaims, clients: &[&str]) -> Result<Asserted, String> {
    let azp = claims.authorized_party().map(|a| a.as_str());
    let ours = |a: &str| clients.contains(&a);
    if claims.audiences().len() > 1 && !azp.is_some_and(ours) {
        return Err("several audiences and azp is not our client".into());
    }
    if azp.is_some_and(|a| !ours(a)) {
        return Err("azp is another client".into());
    }
    let subject = claims.subject().as_str();
    if subject.is_empty() || subject.len() > 255 || subject.chars().any(char::is_control) {
        return Err("an unusable subject".into());
    }
    // Names and the address as this server stores them, or not at all.
    let name = |n: Option<&str>| n.and_then(|n| parse_name(n).ok()).filter(|n| !n.is_empty());
    let email = claims.email().and_then(|e| Email::parse(e.as_str()).ok());
    Ok(Asserted {
        issuer: claims.issuer().as_str().to_owned(),
        subject: subject.to_owned(),
        email_verified: email.is_some() && claims.email_verified() == Some(true),
        email: email.map(|e| e.as_str().to_owned()),
        given_name: name(
            claims
                .given_name()
                .and_then(|l| l.get(None))
                .map(|n| n.as_str()),
        ),
        family_name: name(
            claims
                .family_name()
                .and_then(|l| l.get(None))
                .map(|n| n.as_str()),
        ),
    })
}
