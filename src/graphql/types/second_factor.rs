//! Authenticator-app enrolment, recovery codes and passkeys (API.md §8.4).

use async_graphql::{Enum, ID, Json, SimpleObject};
use chrono::{DateTime, Utc};
use entity::passkey;
use uuid::Uuid;

use crate::services::factors::totp::Enrollment;

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

/// A passkey of the viewer's.
#[derive(SimpleObject)]
pub struct Passkey {
    pub id: ID,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<passkey::Model> for Passkey {
    fn from(row: passkey::Model) -> Self {
        Passkey {
            id: ID(row.id.to_string()),
            name: row.name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// A begun passkey ceremony: `options` is the bare `publicKey` member for
/// `PublicKeyCredential.parseCreationOptionsFromJSON` (registration) or
/// `parseRequestOptionsFromJSON` (sign-in); `challengeId` goes back with
/// the credential.
#[derive(SimpleObject)]
pub struct PasskeyOptions {
    pub challenge_id: ID,
    pub options: Json<serde_json::Value>,
}

impl From<(Uuid, serde_json::Value)> for PasskeyOptions {
    fn from((id, options): (Uuid, serde_json::Value)) -> Self {
        PasskeyOptions {
            challenge_id: ID(id.to_string()),
            options: Json(options),
        }
    }
}

// The domain's second-factor kinds as a GraphQL enum.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::SecondFactorMethod")]
pub enum SecondFactorMethod {
    Email,
    Totp,
}
