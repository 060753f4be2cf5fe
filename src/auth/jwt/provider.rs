//! The OAuth provider's tokens (API.md §9.3): access tokens of the RFC 9068
//! profile (`typ: at+jwt`) and ID tokens, signed with the same current key
//! and verified against the same keys as first-party tokens. They carry no
//! `typ` claim, so `verify` (first-party: `typ: "access"` required) never
//! takes one for a key to `/graphql`.

use jsonwebtoken::{Header, Validation, decode, decode_header, encode};
use serde_json::Value;

use super::SigningKeys;
use crate::auth::keys::algorithm as keys_algorithm;

/// The header `typ` of a provider access token.
pub const AT_JWT: &str = "at+jwt";

/// A provider token's header `typ` and its claims, as signed by us.
pub struct Decoded {
    pub typ: Option<String>,
    pub claims: serde_json::Map<String, Value>,
}

impl SigningKeys {
    /// Signs `claims` with the current key, header `typ` as given.
    pub fn sign_claims(&self, typ: &str, claims: &Value) -> anyhow::Result<String> {
        let mut header = Header::new(keys_algorithm(self.algorithm));
        header.kid = self.kid.clone();
        header.typ = Some(typ.to_owned());
        Ok(encode(&header, claims, &self.signing)?)
    }

    /// The claims of a token signed by one of our keys (current or
    /// previous) with that key's algorithm and our `iss`, whatever its
    /// audience; expired ones only when `allow_expired`.
    pub fn decode_claims(&self, token: &str, allow_expired: bool) -> Option<Decoded> {
        if token.len() > super::MAX_TOKEN_BYTES {
            return None;
        }
        let header = decode_header(token).ok()?;
        let verifier = self.verifiers.iter().find(|v| {
            (self.verifiers.len() == 1 || v.kid == header.kid)
                && v.validation.algorithms.contains(&header.alg)
        })?;
        let mut validation: Validation = verifier.validation.clone();
        validation.validate_aud = false;
        validation.validate_exp = !allow_expired;
        validation.set_required_spec_claims(&["exp", "sub", "iat", "iss"]);
        let data =
            decode::<serde_json::Map<String, Value>>(token, &verifier.key, &validation).ok()?;
        Some(Decoded {
            typ: header.typ,
            claims: data.claims,
        })
    }
}
