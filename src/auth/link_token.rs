//! Emailed link tokens in the manner of Django's `default_token_generator`:
//! `{timestamp}-{hmac}`, where the HMAC covers the user's state. Nothing is
//! stored: a token stops working when the state it covers changes (the
//! account is activated, the password changes, the security stamp rotates)
//! or when it is older than its lifetime.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entity::user;
use uuid::Uuid;

use super::tokens::{constant_time_eq, hmac_hex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    Activation,
    PasswordReset,
    /// Bound to the pending address and its request (`make_bound`).
    EmailChange,
}

impl LinkPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            LinkPurpose::Activation => b"authql.activation",
            LinkPurpose::PasswordReset => b"authql.password-reset",
            LinkPurpose::EmailChange => b"authql.email-change",
        }
    }
}

/// The `uid` of a link: URL-safe base64 of the user id, as Django does.
pub fn uid_for(user_id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(user_id.to_string())
}

pub fn user_id_from_uid(uid: &str) -> Option<Uuid> {
    if uid.len() > 64 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(uid.trim_end_matches('=')).ok()?;
    Uuid::parse_str(std::str::from_utf8(&bytes).ok()?).ok()
}

pub fn make(secret: &[u8], purpose: LinkPurpose, user: &user::Model, now: DateTime<Utc>) -> String {
    make_bound(secret, purpose, user, b"", now)
}

/// A token that also covers `bound` (e.g. the pending address), so it works
/// only while that is what the server holds.
pub fn make_bound(
    secret: &[u8],
    purpose: LinkPurpose,
    user: &user::Model,
    bound: &[u8],
    now: DateTime<Utc>,
) -> String {
    let ts = now.timestamp().max(0) as u64;
    format!(
        "{}-{}",
        to_base36(ts),
        signature(secret, purpose, user, bound, ts)
    )
}

/// True when `token` was made for this purpose and this user state, and is
/// no older than `ttl`.
pub fn check(
    secret: &[u8],
    purpose: LinkPurpose,
    user: &user::Model,
    token: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> bool {
    check_bound(secret, purpose, user, b"", token, ttl, now)
}

/// `check` for a token of `make_bound`.
pub fn check_bound(
    secret: &[u8],
    purpose: LinkPurpose,
    user: &user::Model,
    bound: &[u8],
    token: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> bool {
    if token.len() > 128 {
        return false;
    }
    let Some((ts, sig)) = token.split_once('-') else {
        return false;
    };
    let Some(ts) = from_base36(ts) else {
        return false;
    };
    let age = (now.timestamp().max(0) as u64).saturating_sub(ts);
    let issued_in_future = ts > now.timestamp().max(0) as u64 + 60;
    constant_time_eq(sig, &signature(secret, purpose, user, bound, ts))
        && age <= ttl.as_secs()
        && !issued_in_future
}

fn signature(
    secret: &[u8],
    purpose: LinkPurpose,
    user: &user::Model,
    bound: &[u8],
    ts: u64,
) -> String {
    // Activation tokens leave out last_login so that a link opened after the
    // first sign-in can still be recognised (API.md: an already-active
    // account's link answers "activated"); reset tokens include it, as Django does.
    let last_login = match purpose {
        LinkPurpose::Activation | LinkPurpose::EmailChange => String::new(),
        LinkPurpose::PasswordReset => user
            .last_login
            .map(|t| t.timestamp_micros().to_string())
            .unwrap_or_default(),
    };
    let ts = ts.to_be_bytes();
    let mut parts: Vec<&[u8]> = vec![
        purpose.label(),
        user.id.as_bytes(),
        user.security_stamp.as_bytes(),
        user.password_hash.as_bytes(),
        if user.is_active { b"1" } else { b"0" },
        last_login.as_bytes(),
        &ts,
    ];
    // Only when there is one, so the tokens of before bound ones existed
    // still check out.
    if !bound.is_empty() {
        parts.push(bound);
    }
    let full = hmac_hex(secret, &parts);
    full[..32].to_owned()
}

fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn from_base36(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 13 {
        return None;
    }
    u64::from_str_radix(s, 36).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::fixtures::user;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn a_token_checks_for_its_user_and_purpose_only() {
        let u = user();
        let now = Utc::now();
        let t = make(KEY, LinkPurpose::Activation, &u, now);
        assert!(check(KEY, LinkPurpose::Activation, &u, &t, DAY, now));
        assert!(!check(KEY, LinkPurpose::PasswordReset, &u, &t, DAY, now));
        assert!(!check(
            b"another key another key another key",
            LinkPurpose::Activation,
            &u,
            &t,
            DAY,
            now
        ));
        let other = user();
        assert!(!check(KEY, LinkPurpose::Activation, &other, &t, DAY, now));
    }

    #[test]
    fn a_token_dies_when_the_state_changes() {
        let mut u = user();
        let now = Utc::now();
        let t = make(KEY, LinkPurpose::Activation, &u, now);
        u.is_active = true;
        assert!(!check(KEY, LinkPurpose::Activation, &u, &t, DAY, now));
        let mut u = user();
        let t = make(KEY, LinkPurpose::PasswordReset, &u, now);
        u.password_hash = "$argon2id$y".into();
        assert!(!check(KEY, LinkPurpose::PasswordReset, &u, &t, DAY, now));
        let mut u = user();
        let t = make(KEY, LinkPurpose::PasswordReset, &u, now);
        u.last_login = Some(now);
        assert!(!check(KEY, LinkPurpose::PasswordReset, &u, &t, DAY, now));
    }

    #[test]
    fn a_token_expires() {
        let u = user();
        let then = Utc::now() - chrono::Duration::seconds(3601);
        let t = make(KEY, LinkPurpose::PasswordReset, &u, then);
        assert!(!check(
            KEY,
            LinkPurpose::PasswordReset,
            &u,
            &t,
            Duration::from_secs(3600),
            Utc::now()
        ));
        assert!(check(
            KEY,
            LinkPurpose::PasswordReset,
            &u,
            &t,
            Duration::from_secs(7200),
            Utc::now()
        ));
    }

    #[test]
    fn malformed_tokens_and_uids_are_refused() {
        let u = user();
        for t in ["", "-", "abc", "zzzzzzzzzzzzzzzzz-00", &"a".repeat(10_000)] {
            assert!(
                !check(KEY, LinkPurpose::Activation, &u, t, DAY, Utc::now()),
                "{t}"
            );
        }
        assert_eq!(user_id_from_uid(&uid_for(u.id)), Some(u.id));
        assert_eq!(user_id_from_uid("!!!"), None);
        assert_eq!(user_id_from_uid(&"A".repeat(1000)), None);
    }
}
