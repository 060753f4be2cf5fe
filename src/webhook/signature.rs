//! Standard Webhooks 1.0 signatures: a secret is `whsec_` and the standard
//! base64 of its key bytes; a delivery's `webhook-signature` is `v1,` and
//! the base64 HMAC-SHA256 over `{id}.{timestamp}.{body}`, one per live
//! secret, separated by spaces (the newest first).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// A new secret: 32 random bytes.
pub fn generate() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The key bytes of a `whsec_…` secret whose key is `min..=max` bytes.
pub fn key(secret: &str, min: usize, max: usize) -> Option<Vec<u8>> {
    let key = STANDARD.decode(secret.strip_prefix(PREFIX)?).ok()?;
    (min..=max).contains(&key.len()).then_some(key)
}

/// The `webhook-signature` header for `body`, signed by every key given.
pub fn header(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &str) -> String {
    keys.iter()
        .map(|key| {
            // HMAC takes keys of any length.
            let mut mac =
                <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body.as_bytes());
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_example_signs_alike() {
        // Standard Webhooks' published example (spec.md, "Signature scheme").
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        let signed = header(&[key(secret, 1, 64).unwrap()], id, 1614265330, body);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let fresh = generate();
        assert_eq!(key(&fresh, 32, 32).map(|k| k.len()), Some(32));
        assert!(key("whsec_!!", 1, 64).is_none() && key("abc", 1, 64).is_none());
    }
}
