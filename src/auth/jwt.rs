//! Access tokens: HS256 JWTs signed with `SECRET_KEY`, naming the session
//! they belong to. The algorithm is pinned and expiry is checked with no
//! leeway (jsonwebtoken's default would accept tokens 60 s past expiry).

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const TYP_ACCESS: &str = "access";

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The session id: checked on every request, so revocation is immediate.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub typ: String,
}

pub struct AccessToken {
    pub token: String,
    pub expires_in: u64,
}

pub fn issue(
    secret: &[u8],
    user_id: Uuid,
    session_id: Uuid,
    ttl: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<AccessToken> {
    let iat = now.timestamp();
    let claims = Claims {
        sub: user_id.to_string(),
        sid: session_id.to_string(),
        iat,
        exp: iat + ttl.as_secs() as i64,
        jti: Uuid::new_v4().to_string(),
        typ: TYP_ACCESS.to_owned(),
    };
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )?;
    Ok(AccessToken {
        token,
        expires_in: ttl.as_secs(),
    })
}

/// The user and session ids of a genuine, unexpired access token.
pub fn verify(secret: &[u8], token: &str) -> Option<(Uuid, Uuid)> {
    if token.len() > 4096 {
        return None;
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.validate_exp = true;
    validation.set_required_spec_claims(&["exp", "sub", "iat"]);
    let data = decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation).ok()?;
    if data.claims.typ != TYP_ACCESS {
        return None;
    }
    Some((data.claims.sub.parse().ok()?, data.claims.sid.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_round_trips_with_its_claims() {
        let (u, s) = (Uuid::new_v4(), Uuid::new_v4());
        let t = issue(KEY, u, s, Duration::from_secs(300), Utc::now()).unwrap();
        assert_eq!(t.expires_in, 300);
        assert_eq!(verify(KEY, &t.token), Some((u, s)));
        let payload = t.token.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        for claim in ["sub", "sid", "iat", "exp", "jti", "typ"] {
            assert!(claims.get(claim).is_some(), "{claim}");
        }
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            300
        );
    }

    #[test]
    fn expired_foreign_tampered_and_unsigned_tokens_are_refused() {
        let (u, s) = (Uuid::new_v4(), Uuid::new_v4());
        let old = issue(
            KEY,
            u,
            s,
            Duration::from_secs(60),
            Utc::now() - chrono::Duration::seconds(61),
        )
        .unwrap();
        assert_eq!(verify(KEY, &old.token), None);
        let foreign = issue(
            b"another key, another key, another!",
            u,
            s,
            Duration::from_secs(60),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(verify(KEY, &foreign.token), None);
        let good = issue(KEY, u, s, Duration::from_secs(60), Utc::now())
            .unwrap()
            .token;
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let other = issue(KEY, Uuid::new_v4(), s, Duration::from_secs(60), Utc::now())
            .unwrap()
            .token;
        parts[1] = other.split('.').nth(1).unwrap().to_owned();
        assert_eq!(verify(KEY, &parts.join(".")), None);
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", good.split('.').nth(1).unwrap());
        assert_eq!(verify(KEY, &unsigned), None);
        assert_eq!(verify(KEY, "garbage"), None);
    }
}
