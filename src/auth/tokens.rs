//! Random secrets and their digests: refresh and API tokens, challenge ids
//! and one-time codes are handed out once and stored only as digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A uniformly drawn 6-digit code from the OS-seeded CSPRNG.
pub fn six_digit_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// HMAC-SHA256 over the parts, separated so that ("ab","c") ≠ ("a","bc").
pub fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Digest of a one-time code, bound to the row it belongs to so a code
/// cannot be replayed against another challenge.
pub fn code_digest(key: &[u8], row_id: &uuid::Uuid, code: &str) -> String {
    hmac_hex(key, &[b"one-time-code", row_id.as_bytes(), code.as_bytes()])
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..1000 {
            let c = six_digit_code();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn hmac_parts_are_unambiguous() {
        assert_ne!(
            hmac_hex(b"k", &[b"ab", b"c"]),
            hmac_hex(b"k", &[b"a", b"bc"])
        );
        assert_ne!(hmac_hex(b"k1", &[b"x"]), hmac_hex(b"k2", &[b"x"]));
    }

    #[test]
    fn code_digests_are_bound_to_their_row() {
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        assert_ne!(
            code_digest(b"k", &a, "123456"),
            code_digest(b"k", &b, "123456")
        );
    }
}
