//! Secrets the server must read back (an authenticator app's key), sealed
//! at rest: XChaCha20-Poly1305 under a key HKDF derives from `SECRET_KEY`
//! and a purpose label, bound to the row it belongs to. A database dump
//! alone yields nothing; a sealed value copied to another user's row does
//! not open. Rotating `SECRET_KEY` makes sealed values unreadable (users
//! then enrol their app again).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// The format's version, so a future one can be told apart.
const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

fn cipher(secret_key: &[u8], purpose: &str) -> XChaCha20Poly1305 {
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8,160-byte limit.
    Hkdf::<Sha256>::new(None, secret_key)
        .expand(purpose.as_bytes(), &mut key)
        .unwrap_or_else(|_| unreachable!());
    XChaCha20Poly1305::new(&key.into())
}

/// Seals `plaintext` for `purpose`, bound to `bound_to` (e.g. the user id).
pub fn seal(secret_key: &[u8], purpose: &str, bound_to: &[u8], plaintext: &[u8]) -> String {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let payload = Payload {
        msg: plaintext,
        aad: bound_to,
    };
    // Encryption into a Vec fails only on lengths far beyond any secret.
    let sealed = cipher(secret_key, purpose)
        .encrypt(&nonce, payload)
        .unwrap_or_else(|_| unreachable!());
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
}

/// Opens what `seal` made with the same key, purpose and binding; `None`
/// for anything else (another key, another row, a changed byte).
pub fn open(secret_key: &[u8], purpose: &str, bound_to: &[u8], sealed: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let payload = Payload {
        msg: ciphertext,
        aad: bound_to,
    };
    cipher(secret_key, purpose)
        .decrypt(XNonce::from_slice(nonce), payload)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_the_same_key_purpose_and_binding() {
        let sealed = seal(b"key", "totp", b"user-a", b"secret bytes");
        assert!(!sealed.contains("secret"));
        assert_eq!(
            open(b"key", "totp", b"user-a", &sealed).as_deref(),
            Some(&b"secret bytes"[..])
        );
        assert_eq!(open(b"other", "totp", b"user-a", &sealed), None);
        assert_eq!(open(b"key", "other", b"user-a", &sealed), None);
        assert_eq!(open(b"key", "totp", b"user-b", &sealed), None);
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(open(b"key", "totp", b"user-a", &tampered), None);
        assert_eq!(open(b"key", "totp", b"user-a", "v1.short"), None);
    }

    #[test]
    fn each_seal_is_different() {
        assert_ne!(seal(b"k", "p", b"", b"x"), seal(b"k", "p", b"", b"x"));
    }
}
