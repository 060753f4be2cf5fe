//! Authenticator-app enrolment and recovery codes (API.md §8.4).

use async_graphql::SimpleObject;

use crate::services::totp::Enrollment;

/// A begun enrolment: add the secret to an authenticator app (scan the QR
/// code or type the secret), then confirm with one of its codes.
#[derive(SimpleObject)]
pub struct TotpEnrollment {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    /// `otpauth://totp/…`, what the QR code holds.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_code_svg: String,
}

impl From<Enrollment> for TotpEnrollment {
    fn from(e: Enrollment) -> Self {
        TotpEnrollment {
            secret: e.secret,
            otpauth_uri: e.otpauth_uri,
            qr_code_svg: e.qr_code_svg,
        }
    }
}

/// Single-use codes that stand in for any sign-in code; shown only here.
#[derive(SimpleObject)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}
