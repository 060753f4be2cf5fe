//! Second factors and one-time codes: mailed codes, authenticator apps, recovery codes, passkeys, and turning them on and off.

pub mod codes;
pub mod factor_changes;
pub mod otp;
pub mod otp_resend;
pub mod passkeys;
pub mod recovery_codes;
pub mod totp;
