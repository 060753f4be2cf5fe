//! PKCE (RFC 7636) as the browser flows use it: an app's S256 challenge,
//! and whether a verifier answers it (in constant time).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::tokens::constant_time_eq;

/// Whether `challenge` is an RFC 7636 S256 challenge: 43 base64url
/// characters (the encoding of a SHA-256 digest).
pub fn is_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 7636 §4.2: BASE64URL(SHA256(verifier)).
fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` answers the flow's PKCE `challenge` (RFC 7636); a
/// flow without a challenge takes no verifier.
pub fn verifier_matches(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    match (challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            // RFC 7636 §4.1: 43–128 unreserved characters.
            (43..=128).contains(&verifier.len()) && constant_time_eq(challenge, &s256(verifier))
        }
        (None, None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_is_base64url_of_sha256() {
        // BASE64URL(SHA256(verifier)), as Python's hashlib and base64 compute it.
        let verifier = "dBjftJeZ4CVP-mJ92IZo1uDIhiRKf9sgnnH6u0P69qY";
        assert_eq!(
            s256(verifier),
            "c2mgtL2NyFIOeUJKVUWYBLIC_YuuQsgbDpxjLT1pgL0"
        );
        assert!(is_challenge("c2mgtL2NyFIOeUJKVUWYBLIC_YuuQsgbDpxjLT1pgL0"));
        assert!(!is_challenge("c2mgtL2NyFIOeUJKVUWYBLIC_YuuQsgbDpxjLT1pgL"));
        assert!(!is_challenge("c2mgtL2NyFIOeUJKVUWYBLIC_YuuQsgbDpxjLT1pgL+"));
    }
}
