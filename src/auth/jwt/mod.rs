//! Access tokens: JWTs naming their session, signed with `SECRET_KEY`
//! (HS256) or an asymmetric key whose public half is published as a JWKS,
//! so that other services verify them without any secret (API.md §8.3).
//!
//! Verification is pinned to the configured keys' algorithms (a token whose
//! header names another, such as HS256 signed with a published public key,
//! is refused), checks `iss` and `aud`, and allows no leeway on expiry
//! (jsonwebtoken's default would accept tokens 60 s past it).

use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use entity::user;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::assurance::Proof;
use super::keys::{PemKey, algorithm, generate, write_new};
use crate::config::{ConfigError, JwtAlgorithm, JwtClaims, JwtKeySource, Settings};
use crate::domain::organization::Role;

const TYP_ACCESS: &str = "access";
/// Longer is not a token of ours; refused before any parsing.
/// The longest access token `verify` reads (and so the longest one minted).
pub const MAX_TOKEN_BYTES: usize = 4096;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// One audience as a string, several as an array (RFC 7519).
    aud: Value,
    /// The user id.
    sub: String,
    /// The session id: checked on every request, so revocation is immediate.
    sid: String,
    iat: i64,
    exp: i64,
    /// When the session last proved its user (`authenticatedAt`).
    auth_time: i64,
    /// The session's assurance level, `aal1` or `aal2` (API.md §8.8).
    #[serde(default)]
    aal: String,
    /// How its user proved who they are (`pwd`, `otp`, `mfa` …).
    #[serde(default)]
    amr: Vec<String>,
    /// `user`, plus `staff` for staff.
    scope: String,
    jti: String,
    typ: String,
    #[serde(
        rename = "https://hasura.io/jwt/claims",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    hasura: Option<Value>,
    /// The session's active organization and the role in it (API.md §10.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    org_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    org_role: Option<String>,
    /// What the custom-claims hook added (API.md §11.5): never a name above.
    #[serde(flatten)]
    extra: serde_json::Map<String, Value>,
}

/// Claims about to be signed: what the custom-claims hook is shown, and
/// what it may add to.
#[derive(Clone)]
pub struct Draft {
    claims: Claims,
    ttl: Duration,
}

impl Draft {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.claims).unwrap_or_default()
    }

    /// Claims `role` in organization `id`: `org_id`/`org_role`, and in
    /// the Hasura namespace `x-hasura-org-*` and an `org_<role>` role.
    pub fn with_organization(&mut self, id: Uuid, role: Role) {
        self.claims.org_id = Some(id.to_string());
        self.claims.org_role = Some(role.claim().to_owned());
        if let Some(Value::Object(hasura)) = self.claims.hasura.as_mut() {
            hasura.insert("x-hasura-org-id".into(), id.to_string().into());
            hasura.insert("x-hasura-org-role".into(), role.claim().into());
            if let Some(Value::Array(roles)) = hasura.get_mut("x-hasura-allowed-roles") {
                roles.push(format!("org_{}", role.claim()).into());
            }
        }
    }

    /// Adds claims; a name the token already carries is never replaced
    /// (the caller refuses reserved names; this holds if a field is added
    /// and the list is not).
    pub fn extend(&mut self, extra: serde_json::Map<String, Value>) {
        let own = self.to_json();
        for (name, value) in extra {
            if own.get(&name).is_none() {
                self.claims.extra.insert(name, value);
            }
        }
    }
}

pub struct AccessToken {
    pub token: String,
    pub expires_in: u64,
}

/// A key that verifies tokens: the current one and each previous one.
struct Verifier {
    kid: Option<String>,
    key: DecodingKey,
    validation: Validation,
}

/// The keys of this server: the one that signs, those that verify, and the
/// public ones it publishes.
pub struct SigningKeys {
    algorithm: JwtAlgorithm,
    signing: EncodingKey,
    kid: Option<String>,
    verifiers: Vec<Verifier>,
    jwks: JwkSet,
    issuer: String,
    audience: Vec<String>,
    claims: JwtClaims,
    /// Signatures already checked (asymmetric keys only, where a check costs
    /// tens of microseconds): a token's claims cannot change, so a token seen
    /// before needs only its expiry checked again. The session is still
    /// checked on every request.
    verified: VerifiedTokens,
}

/// A key file that fails is its setting's failure (API.md §8.10): the
/// error names the variable, and `main` exits 2 as for any setting.
fn setting(name: &'static str, e: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(ConfigError::Invalid {
        name,
        message: format!("{e:#}"),
    })
}

impl SigningKeys {
    /// Loads the keys `settings` name. In development without a key file
    /// one is generated and kept (mode 0600); a warning says so.
    pub fn load(settings: &Settings) -> anyhow::Result<(SigningKeys, Option<String>)> {
        let jwt = &settings.jwt;
        let mut warning = None;
        let (signing, current) = match &jwt.key {
            JwtKeySource::Secret => (EncodingKey::from_secret(settings.secret_bytes()), None),
            JwtKeySource::File(path) => {
                let read = PemKey::read(path)
                    .and_then(|key| Ok((private_of(&key, jwt.algorithm, path)?, key)));
                let (signing, key) = read.map_err(|e| setting("JWT_PRIVATE_KEY_FILE", e))?;
                (signing, Some(key))
            }
            JwtKeySource::Generated(path) => {
                if !path.exists() {
                    write_new(path, &generate(jwt.algorithm)?)?;
                    warning = Some(format!(
                        "JWT_PRIVATE_KEY_FILE is not set: generated a {} key into {}; set it in production",
                        jwt.algorithm.name(),
                        path.display()
                    ));
                }
                let key = PemKey::read(path)?;
                (private_of(&key, jwt.algorithm, path)?, Some(key))
            }
        };
        let mut published = Vec::new();
        let mut verifiers = Vec::new();
        let kid = current
            .as_ref()
            .and_then(|k| k.public.common.key_id.clone());
        match &current {
            None => verifiers.push(Verifier {
                kid: None,
                key: DecodingKey::from_secret(settings.secret_bytes()),
                validation: validation(Algorithm::HS256, &jwt.issuer, &jwt.audience),
            }),
            Some(key) => {
                verifiers.push(verifier(key, &jwt.issuer, &jwt.audience)?);
                published.push(key.public.clone());
            }
        }
        for path in &jwt.previous_key_files {
            let read = PemKey::read(path)
                .and_then(|key| Ok((verifier(&key, &jwt.issuer, &jwt.audience)?, key)));
            let (verifying, key) = read.map_err(|e| setting("JWT_PREVIOUS_KEY_FILES", e))?;
            verifiers.push(verifying);
            published.push(key.public);
        }
        Ok((
            SigningKeys {
                algorithm: jwt.algorithm,
                signing,
                kid,
                verifiers,
                jwks: JwkSet { keys: published },
                issuer: jwt.issuer.clone(),
                audience: jwt.audience.clone(),
                claims: jwt.claims,
                verified: VerifiedTokens {
                    enabled: jwt.algorithm != JwtAlgorithm::Hs256,
                    map: Mutex::default(),
                },
            },
            warning,
        ))
    }

    /// The published public keys (none of them private, none symmetric).
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn issue(
        &self,
        user: &user::Model,
        session_id: Uuid,
        proof: &Proof,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> anyhow::Result<AccessToken> {
        self.sign(self.draft(user, session_id, proof, ttl, now))
    }

    /// Signs a draft as it stands.
    pub fn sign(&self, draft: Draft) -> anyhow::Result<AccessToken> {
        let mut header = Header::new(algorithm(self.algorithm));
        header.kid = self.kid.clone();
        let token = encode(&header, &draft.claims, &self.signing)?;
        Ok(AccessToken {
            token,
            expires_in: draft.ttl.as_secs(),
        })
    }

    /// The claims of a session's access token, not yet signed.
    pub fn draft(
        &self,
        user: &user::Model,
        session_id: Uuid,
        proof: &Proof,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Draft {
        let iat = now.timestamp();
        let role = if user.is_staff { "staff" } else { "user" };
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: match self.audience.as_slice() {
                [one] => Value::from(one.clone()),
                many => Value::from(many.to_vec()),
            },
            sub: user.id.to_string(),
            sid: session_id.to_string(),
            iat,
            exp: iat + ttl.as_secs() as i64,
            auth_time: proof.at.timestamp(),
            aal: proof.assurance.aal().to_owned(),
            amr: proof
                .assurance
                .amr()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            scope: if user.is_staff { "user staff" } else { "user" }.to_owned(),
            jti: Uuid::new_v4().to_string(),
            typ: TYP_ACCESS.to_owned(),
            org_id: None,
            org_role: None,
            hasura: (self.claims == JwtClaims::Hasura).then(|| {
                serde_json::json!({
                    "x-hasura-user-id": user.id.to_string(),
                    "x-hasura-default-role": role,
                    "x-hasura-allowed-roles": if user.is_staff { vec!["user", "staff"] } else { vec!["user"] },
                })
            }),
            extra: serde_json::Map::new(),
        };
        Draft { claims, ttl }
    }

    /// What a genuine, unexpired access token of this issuer for one of
    /// its audiences, signed by a configured key with that key's
    /// algorithm, says.
    pub fn verify(&self, token: &str) -> Option<Verified> {
        if token.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let now = Utc::now().timestamp();
        if let Some(hit) = self.verified.get(token, now) {
            return Some(hit);
        }
        let claims = match self.verifiers.as_slice() {
            // One key: decode checks the header's algorithm against it (a
            // token with another key id fails its signature).
            [only] => decode::<Claims>(token, &only.key, &only.validation).ok()?,
            several => {
                let header = decode_header(token).ok()?;
                several
                    .iter()
                    .filter(|v| {
                        v.kid == header.kid && v.validation.algorithms.contains(&header.alg)
                    })
                    .find_map(|v| decode::<Claims>(token, &v.key, &v.validation).ok())?
            }
        }
        .claims;
        if claims.typ != TYP_ACCESS {
            return None;
        }
        let org = match (claims.org_id, claims.org_role) {
            (Some(id), Some(role)) => Some((id.parse().ok()?, role)),
            (None, None) => None,
            _ => return None,
        };
        let ids = Verified {
            user: claims.sub.parse().ok()?,
            session: claims.sid.parse().ok()?,
            org,
        };
        self.verified.put(token, ids.clone(), claims.exp);
        Some(ids)
    }
}

fn private_of(
    key: &PemKey,
    expected: JwtAlgorithm,
    path: &std::path::Path,
) -> anyhow::Result<EncodingKey> {
    if key.algorithm != expected {
        anyhow::bail!(
            "{} holds a {} key, but JWT_ALGORITHM is {}",
            path.display(),
            key.algorithm.name(),
            expected.name()
        );
    }
    key.private.clone().with_context(|| {
        format!(
            "{} holds a public key; the signing key must be private",
            path.display()
        )
    })
}

fn verifier(key: &PemKey, issuer: &str, audience: &[String]) -> anyhow::Result<Verifier> {
    Ok(Verifier {
        kid: key.public.common.key_id.clone(),
        key: DecodingKey::from_jwk(&key.public)?,
        validation: validation(algorithm(key.algorithm), issuer, audience),
    })
}

fn validation(alg: Algorithm, issuer: &str, audience: &[String]) -> Validation {
    let mut validation = Validation::new(alg);
    validation.leeway = 0;
    validation.validate_exp = true;
    validation.set_issuer(&[issuer]);
    validation.set_audience(audience);
    validation.set_required_spec_claims(&["exp", "sub", "iat", "iss", "aud"]);
    validation
}

pub mod provider;
#[cfg(test)]
mod tests;
mod verified;

pub use verified::Verified;
use verified::VerifiedTokens;
