//! The provider's tokens (API.md §9.3): the RFC 9068 access token, the ID
//! token and the userinfo claims, from an OAuth session and its user.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entity::{session, user};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256, Sha512};

use crate::auth::assurance::Assurance;
use crate::auth::jwt::provider::AT_JWT;
use crate::config::JwtAlgorithm;
use crate::domain::oauth::Scopes;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;

/// What the token endpoint answers on success.
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub scope: Scopes,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
}

/// The claims a scope grants about `user`, current values; a claim
/// without a value is left out.
pub fn scope_claims(user: &user::Model, scopes: Scopes, into: &mut Map<String, Value>) {
    if scopes.has("email") {
        into.insert("email".into(), user.email.clone().into());
        into.insert("email_verified".into(), user.email_verified.into());
    }
    if scopes.has("profile") {
        let given = user.first_name.clone().filter(|s| !s.is_empty());
        let family = user.last_name.clone().filter(|s| !s.is_empty());
        if let Some(name) = user.username.clone().filter(|s| !s.is_empty()) {
            into.insert("preferred_username".into(), name.into());
        }
        let full: Vec<&str> = [given.as_deref(), family.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if let Some(g) = given.clone() {
            into.insert("given_name".into(), g.into());
        }
        if let Some(f) = family.clone() {
            into.insert("family_name".into(), f.into());
        }
        if !full.is_empty() {
            into.insert("name".into(), full.join(" ").into());
        }
    }
}

/// `at_hash`: the left half of the access token's hash (SHA-512 for EdDSA).
fn at_hash(algorithm: JwtAlgorithm, access: &str) -> String {
    let digest: Vec<u8> = if algorithm == JwtAlgorithm::EdDsa {
        Sha512::digest(access.as_bytes()).to_vec()
    } else {
        Sha256::digest(access.as_bytes()).to_vec()
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Access token (for `scope`, narrower on a refresh) and, with `openid`
/// granted, an ID token; `nonce` only on a code exchange.
pub fn tokens_for(
    app: &AppContext,
    sess: &session::Model,
    user: &user::Model,
    scope: Scopes,
    nonce: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<(String, u64, Option<String>)> {
    let client_id = sess
        .oauth_client_id
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("not an OAuth session")))?
        .to_string();
    let ttl = app.settings.access_token_ttl.as_secs();
    let iat = now.timestamp();
    let aud = sess
        .oauth_resource
        .clone()
        .unwrap_or_else(|| client_id.clone());
    let access_claims = json!({
        "iss": app.keys.issuer(),
        "sub": user.id.to_string(),
        "aud": aud,
        "client_id": client_id,
        "scope": scope.to_space(),
        "sid": sess.id.to_string(),
        "auth_time": sess.authenticated_at.timestamp(),
        "iat": iat,
        "exp": iat + ttl as i64,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let access = app
        .keys
        .sign_claims(AT_JWT, &access_claims)
        .map_err(AppError::internal)?;
    let granted = Scopes::stored(sess.oauth_scopes.as_deref().unwrap_or(""));
    let id_token = if granted.has("openid") {
        let mut claims = Map::new();
        claims.insert("iss".into(), app.keys.issuer().into());
        claims.insert("sub".into(), user.id.to_string().into());
        claims.insert("aud".into(), client_id.clone().into());
        claims.insert("iat".into(), iat.into());
        claims.insert("exp".into(), (iat + ttl as i64).into());
        claims.insert("auth_time".into(), sess.authenticated_at.timestamp().into());
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), nonce.into());
        }
        claims.insert(
            "at_hash".into(),
            at_hash(app.keys.algorithm(), &access).into(),
        );
        claims.insert("sid".into(), sess.id.to_string().into());
        let amr = Assurance::from_stored(&sess.amr).amr();
        claims.insert("amr".into(), json!(amr));
        scope_claims(user, granted, &mut claims);
        Some(
            app.keys
                .sign_claims("JWT", &Value::Object(claims))
                .map_err(AppError::internal)?,
        )
    } else {
        None
    };
    Ok((access, ttl, id_token))
}
