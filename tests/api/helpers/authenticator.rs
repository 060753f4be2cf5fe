//! An authenticator app as the tests hold one: RFC 6238 computed here from
//! its definition (HMAC-SHA-1 over the big-endian step, dynamic truncation,
//! 6 digits), not by the totp-rs crate the server uses, so the two check
//! each other.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::json;
use sha1::Sha1;

use super::{TestApp, TestUser};

pub const STEP: u64 = 30;

pub struct App {
    pub secret: Vec<u8>,
}

impl App {
    /// The app after scanning `otpauthUri`'s secret (base32, RFC 4648).
    pub fn from_base32(secret: &str) -> App {
        App {
            secret: base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret)
                .expect("a base32 secret"),
        }
    }

    /// The code for time step `step` (RFC 4226 §5.3, RFC 6238 §4).
    pub fn code_at_step(&self, step: u64) -> String {
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&self.secret).unwrap();
        mac.update(&step.to_be_bytes());
        let hash = mac.finalize().into_bytes();
        let offset = (hash[19] & 0x0f) as usize;
        let binary = u32::from_be_bytes(hash[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
        format!("{:06}", binary % 1_000_000)
    }

    /// The first bytes of `secret` in every encoding a careless store might
    /// use: raw, base32, hex, base64.
    pub fn stored_forms(secret: &[u8]) -> Vec<Vec<u8>> {
        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let b32 = base32::encode(base32::Alphabet::Rfc4648 { padding: false }, secret);
        let hex = hex::encode(secret);
        [
            secret.to_vec(),
            b32.clone().into_bytes(),
            b32.to_lowercase().into_bytes(),
            hex.clone().into_bytes(),
            hex.to_uppercase().into_bytes(),
            STANDARD
                .encode(secret)
                .trim_end_matches('=')
                .as_bytes()
                .to_vec(),
            URL_SAFE_NO_PAD.encode(secret).into_bytes(),
        ]
        .into_iter()
        .map(|mut form| {
            // A prefix long enough to be the secret's and no one else's.
            form.truncate(16);
            form
        })
        .collect()
    }

    /// The code `offset` steps from now.
    pub fn code(&self, offset: i64) -> String {
        self.code_at_step((current_step() as i64 + offset) as u64)
    }
}

pub fn current_step() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / STEP
}

/// Waits, if need be, until at least `secs` seconds remain in this step,
/// so a test's codes keep their offsets while it runs.
pub async fn with_time_left(secs: u64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = now.as_secs() % STEP;
    if STEP - into < secs {
        let wait = (STEP - into) * 1000 - u64::from(now.subsec_millis()) + 200;
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
}

pub const BEGIN: &str = "mutation { beginTotpEnrollment { secret otpauthUri qrCodeSvg } }";
pub const CONFIRM: &str = "mutation($c: String!) { confirmTotpEnrollment(code: $c) { codes } }";

/// Enrols an app for a signed-in (fresh) user, confirming with the code
/// `offset` steps from now; returns the app and the recovery codes.
pub async fn enrol(app: &TestApp, user: &TestUser, offset: i64) -> (App, Vec<String>) {
    let (_, body) = app.gql_as(Some(&user.bearer()), BEGIN, json!({})).await;
    let secret = body["data"]["beginTotpEnrollment"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no enrolment: {body}"));
    let authenticator = App::from_base32(secret);
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            CONFIRM,
            json!({ "c": authenticator.code(offset) }),
        )
        .await;
    let codes = body["data"]["confirmTotpEnrollment"]["codes"]
        .as_array()
        .unwrap_or_else(|| panic!("not confirmed: {body}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (authenticator, codes)
}
