//! The settings' own value types and errors, below the parsing (`vars`)
//! and the `Settings` built from it.

use std::path::PathBuf;
use std::time::Duration;

pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {message}")]
    Invalid { name: &'static str, message: String },
    #[error("APP_ENV=production requires SECRET_KEY (at least {MIN_SECRET_BYTES} bytes)")]
    MissingSecretInProduction,
    #[error("APP_ENV=production refuses EMAIL_URL=console://: configure smtp:// or smtps://")]
    ConsoleEmailInProduction,
    #[error("could not read or write {path}: {source}")]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How mail leaves the process, parsed from `EMAIL_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailTransport {
    /// Log each message (development).
    Console,
    /// Write one `.eml` file per message into this directory.
    File(PathBuf),
    /// An SMTP relay; the URL is kept whole for lettre, which parses
    /// credentials and `tls=` itself.
    Smtp(String),
}

/// `N/window`: at most `max` events per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
}
