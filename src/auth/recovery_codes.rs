//! Recovery codes (API.md §8.4): `xxxx-xxxx-xxxx` in lowercase RFC 4648
//! base32, 60 random bits each, stored only as a keyed digest bound to
//! their user. Typed back with any case, hyphens or spaces.

use rand::Rng;
use uuid::Uuid;

use crate::auth::tokens::hmac_hex;

/// How many codes a set holds.
pub const COUNT: usize = 10;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const LEN: usize = 12;

/// A new random code, formatted for people.
pub fn generate() -> String {
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..LEN)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The code as stored and compared: lowercase, no hyphens or spaces.
/// `None` when it cannot be a recovery code at all.
pub fn normalize(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// The stored digest of a normalised code.
pub fn digest(key: &[u8], user_id: &Uuid, normalized: &str) -> String {
    hmac_hex(
        key,
        &[b"recovery-code", user_id.as_bytes(), normalized.as_bytes()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_documented_shape_and_normalize_back() {
        let code = generate();
        assert_eq!(code.len(), 14);
        assert_eq!(code.matches('-').count(), 2);
        let typed = format!(" {} ", code.to_uppercase().replace('-', " - "));
        assert_eq!(normalize(&typed), Some(code.replace('-', "")));
        assert_eq!(normalize("123456"), None);
        assert_eq!(normalize("abcd-efgh-ijk1"), None);
    }

    #[test]
    fn digests_are_bound_to_their_user() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert_ne!(digest(b"k", &a, "abcd"), digest(b"k", &b, "abcd"));
    }
}
