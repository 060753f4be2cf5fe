//! Tokens as this server issues and checks them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;
use crate::auth::assurance::{Assurance, Method};
use crate::auth::fixtures::user;

const HASURA_NAMESPACE: &str = "https://hasura.io/jwt/claims";

fn keys(extra: &[(&str, &str)]) -> SigningKeys {
    let mut vars: std::collections::HashMap<String, String> = [(
        "SECRET_KEY".to_owned(),
        "0123456789abcdef0123456789abcdef".to_owned(),
    )]
    .into();
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let (settings, _) = Settings::from_vars(&vars, std::path::Path::new("/nonexistent")).unwrap();
    SigningKeys::load(&settings).unwrap().0
}

fn issue(keys: &SigningKeys, u: &user::Model, s: Uuid, secs: u64, at: DateTime<Utc>) -> String {
    let proof = Proof {
        at,
        assurance: Assurance::first(Method::Pwd).with(Method::Otp),
    };
    keys.issue(u, s, &proof, Duration::from_secs(secs), at)
        .unwrap()
        .token
}

#[test]
fn a_token_round_trips_with_its_claims() {
    let keys = keys(&[]);
    let (u, s) = (user(), Uuid::new_v4());
    let token = issue(&keys, &u, s, 300, Utc::now());
    assert_eq!(
        keys.verify(&token).map(|v| (v.user, v.session, v.org)),
        Some((u.id, s, None))
    );
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    for claim in [
        "iss",
        "aud",
        "sub",
        "sid",
        "iat",
        "exp",
        "auth_time",
        "scope",
        "jti",
    ] {
        assert!(claims.get(claim).is_some(), "{claim}");
    }
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(claims["aud"], "authql");
    assert_eq!(claims["scope"], "user");
    assert_eq!(claims["aal"], "aal2");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert!(claims.get(HASURA_NAMESPACE).is_none());
    assert!(keys.jwks().keys.is_empty(), "HS256 publishes nothing");
}

#[test]
fn expired_foreign_tampered_and_unsigned_tokens_are_refused() {
    let keys = keys(&[]);
    let (u, s) = (user(), Uuid::new_v4());
    let old = issue(&keys, &u, s, 60, Utc::now() - chrono::Duration::seconds(61));
    assert_eq!(keys.verify(&old), None);
    let other_issuer = self::keys(&[("JWT_ISSUER", "https://elsewhere.example")]);
    assert_eq!(
        keys.verify(&issue(&other_issuer, &u, s, 60, Utc::now())),
        None
    );
    let other_audience = self::keys(&[("JWT_AUDIENCE", "someone-else")]);
    assert_eq!(
        keys.verify(&issue(&other_audience, &u, s, 60, Utc::now())),
        None
    );
    let good = issue(&keys, &u, s, 60, Utc::now());
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let other = issue(&keys, &user(), s, 60, Utc::now());
    parts[1] = other.split('.').nth(1).unwrap().to_owned();
    assert_eq!(keys.verify(&parts.join(".")), None);
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", good.split('.').nth(1).unwrap());
    assert_eq!(keys.verify(&unsigned), None);
    assert_eq!(keys.verify("garbage"), None);
}

#[test]
fn hasura_claims_name_the_roles() {
    let keys = keys(&[("JWT_CLAIMS", "hasura")]);
    let mut staff = user();
    staff.is_staff = true;
    let token = issue(&keys, &staff, Uuid::new_v4(), 60, Utc::now());
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let hasura = &claims[HASURA_NAMESPACE];
    assert_eq!(hasura["x-hasura-user-id"], staff.id.to_string());
    assert_eq!(hasura["x-hasura-default-role"], "staff");
    assert_eq!(
        hasura["x-hasura-allowed-roles"],
        serde_json::json!(["user", "staff"])
    );
    assert_eq!(claims["scope"], "user staff");
}
