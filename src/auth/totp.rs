//! Authenticator-app codes (API.md §8.4): RFC 6238 with HMAC-SHA-1, 6
//! digits and 30-second steps, as Google Authenticator, Aegis and
//! 1Password compute them. totp-rs computes the codes and the `otpauth://`
//! URI; qrcode draws the URI as SVG. Which step a code matched is ours to
//! know (totp-rs only says yes or no), so each step is accepted once.

use qrcode::QrCode;
use qrcode::render::svg;
use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// RFC 6238's recommended step.
pub const STEP_SECS: u64 = 30;
const DIGITS: usize = 6;
/// 160 bits, RFC 4226's recommendation (totp-rs insists on at least 128).
const SECRET_LEN: usize = 20;

/// A fresh random secret for a new enrolment.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_LEN];
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// One user's authenticator app.
pub struct Authenticator(TOTP);

impl Authenticator {
    /// `issuer` and `account` label the entry in the user's app. Unchecked
    /// construction: the secret's length is ours, the issuer is checked at
    /// start (no `:`), and the URI percent-encodes the account.
    pub fn new(secret: Vec<u8>, issuer: &str, account: &str) -> Authenticator {
        Authenticator(TOTP::new_unchecked(
            Algorithm::SHA1,
            DIGITS,
            0,
            STEP_SECS,
            secret,
            Some(issuer.to_owned()),
            account.to_owned(),
        ))
    }

    /// The secret as people type it into an app: base32, no padding.
    pub fn secret_base32(&self) -> String {
        self.0.get_secret_base32()
    }

    /// The `otpauth://totp/…` URI apps read from the QR code.
    pub fn uri(&self) -> String {
        self.0.get_url()
    }

    /// The URI as a QR code, an SVG document.
    pub fn qr_svg(&self) -> String {
        // A URI of a few hundred bytes always fits a QR code.
        QrCode::new(self.uri().as_bytes())
            .map(|code| code.render::<svg::Color>().min_dimensions(200, 200).build())
            .unwrap_or_default()
    }

    /// The time step (one of `now`'s, the one before, the one after) whose
    /// code is `code`. Every candidate is compared in constant time.
    pub fn matching_step(&self, code: &str, now_secs: u64) -> Option<u64> {
        let current = now_secs / STEP_SECS;
        let mut found = None;
        for step in [current.saturating_sub(1), current, current + 1] {
            let expected = self.0.generate(step * STEP_SECS);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                found = Some(step);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, truncated to 6 digits.
    #[test]
    fn computes_the_rfc_6238_test_vectors() {
        let app = Authenticator::new(b"12345678901234567890".to_vec(), "authql", "a@b.c");
        assert_eq!(app.matching_step("287082", 59), Some(1));
        assert_eq!(app.matching_step("081804", 1111111109), Some(37037036));
        assert_eq!(app.matching_step("050471", 1111111111), Some(37037037));
        assert_eq!(app.matching_step("005924", 1234567890), Some(41152263));
        assert_eq!(app.matching_step("279037", 2000000000), Some(66666666));
    }

    #[test]
    fn accepts_one_step_of_skew_and_no_more() {
        let app = Authenticator::new(new_secret(), "authql", "a@b.c");
        let now = 1_800_000_000;
        for offset in [-1i64, 0, 1] {
            let at = (now as i64 + offset * STEP_SECS as i64) as u64;
            let code = app.0.generate(at);
            assert_eq!(app.matching_step(&code, now), Some(at / STEP_SECS));
        }
        for offset in [-2i64, 2] {
            let at = (now as i64 + offset * STEP_SECS as i64) as u64;
            let code = app.0.generate(at);
            // A two-step-away code may by chance equal a near one's.
            if (-1..=1).all(|o| app.0.generate((now as i64 + o * 30) as u64) != code) {
                assert_eq!(app.matching_step(&code, now), None);
            }
        }
    }

    #[test]
    fn the_uri_names_issuer_account_and_secret() {
        let app = Authenticator::new(new_secret(), "authql", "ann+x@example.com");
        let uri = app.uri();
        assert!(uri.starts_with("otpauth://totp/authql:ann%2Bx%40example.com?"));
        assert!(uri.contains(&format!("secret={}", app.secret_base32())));
        assert!(uri.contains("issuer=authql"));
        assert!(app.qr_svg().starts_with("<?xml"));
    }
}
