//! Reading and checking single values: every refusal names its variable.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use ipnet::IpNet;
use rand::RngCore;
use secrecy::SecretString;

use super::values::{ConfigError, EmailTransport, MIN_SECRET_BYTES, RateLimit};

pub(super) fn invalid(name: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        message: message.into(),
    }
}

/// Read access to the variable map; empty values count as unset, as with
/// Django's `env()` helpers, so `FOO=` in a .env file means "default".
pub(super) struct Vars<'a>(pub(super) &'a HashMap<String, String>);

impl Vars<'_> {
    pub(super) fn get(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    pub(super) fn parse<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: &str,
    ) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.get(name).unwrap_or_else(|| default.to_owned());
        raw.parse()
            .map_err(|e| invalid(name, format!("{raw:?}: {e}")))
    }

    pub(super) fn positive<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + Default + Copy,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => match raw.parse::<T>() {
                Ok(n) if n > T::default() => Ok(n),
                _ => Err(invalid(
                    name,
                    format!("expected a positive whole number, got {raw:?}"),
                )),
            },
        }
    }

    pub(super) fn bool(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|s| s.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(invalid(
                name,
                format!("expected true or false, got {other:?}"),
            )),
        }
    }

    pub(super) fn duration(
        &self,
        name: &'static str,
        default: &str,
    ) -> Result<Duration, ConfigError> {
        let raw = self.get(name).unwrap_or_else(|| default.to_owned());
        parse_duration(name, &raw)
    }

    pub(super) fn rate(&self, name: &'static str, default: &str) -> Result<RateLimit, ConfigError> {
        let raw = self.get(name).unwrap_or_else(|| default.to_owned());
        let (max, window) = raw.split_once('/').ok_or_else(|| {
            invalid(
                name,
                format!("expected N/duration such as 10/15m, got {raw:?}"),
            )
        })?;
        let max = max
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                invalid(
                    name,
                    format!("expected a positive count before '/', got {raw:?}"),
                )
            })?;
        Ok(RateLimit {
            max,
            window: parse_duration(name, window.trim())?,
        })
    }

    pub(super) fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn parse_duration(name: &'static str, raw: &str) -> Result<Duration, ConfigError> {
    match humantime::parse_duration(raw) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(invalid(name, "must be longer than zero")),
        Err(e) => Err(invalid(
            name,
            format!("{raw:?}: {e} (use e.g. 30s, 5m, 1h, 1d)"),
        )),
    }
}

pub(super) fn parse_url(name: &'static str, raw: &str) -> Result<String, ConfigError> {
    let ok = (raw.starts_with("http://") || raw.starts_with("https://"))
        && raw.len() > "https://".len()
        && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(invalid(
            name,
            format!("expected an http(s) URL, got {raw:?}"),
        ))
    }
}

pub(super) fn parse_cidr(raw: &str) -> Result<IpNet, ConfigError> {
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| {
            invalid(
                "TRUSTED_PROXIES",
                format!("{raw:?} is not a CIDR or IP address"),
            )
        })
}

pub(super) fn parse_email_url(raw: &str) -> Result<EmailTransport, ConfigError> {
    if raw == "console://" || raw == "console:" {
        return Ok(EmailTransport::Console);
    }
    if let Some(path) = raw.strip_prefix("file://") {
        if path.is_empty() || !path.starts_with('/') {
            return Err(invalid(
                "EMAIL_URL",
                "file:// needs an absolute directory, e.g. file:///var/mail/authql",
            ));
        }
        return Ok(EmailTransport::File(PathBuf::from(path)));
    }
    if raw.starts_with("smtp://") || raw.starts_with("smtps://") {
        return Ok(EmailTransport::Smtp(raw.to_owned()));
    }
    Err(invalid(
        "EMAIL_URL",
        "expected console://, file:///dir, smtp://host:port or smtps://host:port",
    ))
}

/// Reuses the key in `path`, or makes a new random one and keeps it there
/// (owner-only permissions), so tokens survive restarts in development.
pub(super) fn load_or_generate_secret(path: &Path) -> Result<(SecretString, bool), ConfigError> {
    let file_err = |source| ConfigError::SecretFile {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(existing) if existing.trim().len() >= MIN_SECRET_BYTES => {
            return Ok((SecretString::from(existing.trim().to_owned()), false));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(file_err(e)),
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    write_private(path, &key).map_err(file_err)?;
    Ok((SecretString::from(key), true))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}
