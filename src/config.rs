//! Settings, read once from the environment (and a `.env` file) and validated
//! before anything starts. This is the only module that reads the environment:
//! everything else is handed a `Settings` or a part of it, so tests configure
//! the server exactly as an operator would.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use ipnet::IpNet;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

/// Where the generated development key is kept between runs.
pub const SECRET_FILE: &str = ".authql-secret";
const MIN_SECRET_BYTES: usize = 32;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TwoFactorPolicy {
    Off,
    Optional,
    Required,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
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

/// Every setting of API.md §6, validated.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub bind_addr: SocketAddr,
    /// Base of every link in mail, without a trailing slash.
    pub public_url: String,
    pub app_env: AppEnv,
    pub secret_key: SecretString,
    pub email: EmailTransport,
    pub email_from: String,
    pub require_activation: bool,
    pub two_factor: TwoFactorPolicy,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub activation_token_ttl: Duration,
    pub password_reset_ttl: Duration,
    pub otp_ttl: Duration,
    pub otp_max_attempts: u32,
    pub activation_redirect_url: Option<String>,
    pub password_reset_url: Option<String>,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub login_rate_limit: RateLimit,
    pub mail_rate_limit: RateLimit,
    pub otp_resend_interval: Duration,
    pub hash_concurrency: usize,
    pub hash_queue_timeout: Duration,
    pub graphiql: bool,
    pub log_format: LogFormat,
    /// `RUST_LOG`, handed to the tracing filter.
    pub log_filter: Option<String>,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
}

/// Something worth telling the operator once logging is up (config loads first).
pub type Warnings = Vec<String>;

impl Settings {
    /// Reads `.env` (if present in the working directory), then the process
    /// environment, which wins over the file.
    pub fn from_env() -> Result<(Settings, Warnings), ConfigError> {
        // A missing .env is normal; a malformed one is worth refusing.
        if let Err(e) = dotenvy::dotenv()
            && !e.not_found()
        {
            return Err(ConfigError::Invalid {
                name: ".env",
                message: e.to_string(),
            });
        }
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_vars(&vars, Path::new("."))
    }

    /// Builds settings from a variable map; `secret_dir` is where a generated
    /// development key is kept. Tests call this directly.
    pub fn from_vars(
        vars: &HashMap<String, String>,
        secret_dir: &Path,
    ) -> Result<(Settings, Warnings), ConfigError> {
        let v = Vars(vars);
        let mut warnings = Vec::new();
        let app_env = match v.get("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => {
                return Err(invalid(
                    "APP_ENV",
                    format!("expected development or production, got {other:?}"),
                ));
            }
        };
        let email = parse_email_url(&v.get("EMAIL_URL").unwrap_or_else(|| "console://".into()))?;
        let secret_key = match v.get("SECRET_KEY") {
            Some(key) if key.len() >= MIN_SECRET_BYTES => SecretString::from(key),
            Some(_) => {
                return Err(invalid(
                    "SECRET_KEY",
                    format!("must be at least {MIN_SECRET_BYTES} bytes"),
                ));
            }
            None if app_env == AppEnv::Production => {
                return Err(ConfigError::MissingSecretInProduction);
            }
            None => {
                let (key, generated) = load_or_generate_secret(&secret_dir.join(SECRET_FILE))?;
                warnings.push(if generated {
                    format!(
                        "SECRET_KEY is not set: generated one and saved it in {SECRET_FILE}; set SECRET_KEY in production"
                    )
                } else {
                    format!("SECRET_KEY is not set: using the key kept in {SECRET_FILE}")
                });
                key
            }
        };
        if app_env == AppEnv::Production && email == EmailTransport::Console {
            return Err(ConfigError::ConsoleEmailInProduction);
        }
        let default_cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let settings = Settings {
            database_url: v
                .get("DATABASE_URL")
                .unwrap_or_else(|| "sqlite://authql.db?mode=rwc".into()),
            bind_addr: v.parse("BIND_ADDR", "127.0.0.1:8000")?,
            public_url: parse_url(
                "PUBLIC_URL",
                &v.get("PUBLIC_URL")
                    .unwrap_or_else(|| "http://127.0.0.1:8000".into()),
            )?
            .trim_end_matches('/')
            .to_owned(),
            app_env,
            secret_key,
            email,
            email_from: v
                .get("EMAIL_FROM")
                .unwrap_or_else(|| "authql <noreply@localhost>".into()),
            require_activation: v.bool("REQUIRE_ACTIVATION", true)?,
            two_factor: match v.get("TWO_FACTOR").as_deref() {
                None | Some("optional") => TwoFactorPolicy::Optional,
                Some("off") => TwoFactorPolicy::Off,
                Some("required") => TwoFactorPolicy::Required,
                Some(other) => {
                    return Err(invalid(
                        "TWO_FACTOR",
                        format!("expected off, optional or required, got {other:?}"),
                    ));
                }
            },
            access_token_ttl: v.duration("ACCESS_TOKEN_TTL", "5m")?,
            refresh_token_ttl: v.duration("REFRESH_TOKEN_TTL", "1d")?,
            activation_token_ttl: v.duration("ACTIVATION_TOKEN_TTL", "1d")?,
            password_reset_ttl: v.duration("PASSWORD_RESET_TTL", "1h")?,
            otp_ttl: v.duration("OTP_TTL", "10m")?,
            otp_max_attempts: v.positive("OTP_MAX_ATTEMPTS", 5)?,
            activation_redirect_url: v
                .get("ACTIVATION_REDIRECT_URL")
                .map(|u| parse_url("ACTIVATION_REDIRECT_URL", &u))
                .transpose()?,
            password_reset_url: v
                .get("PASSWORD_RESET_URL")
                .map(|u| parse_url("PASSWORD_RESET_URL", &u))
                .transpose()?,
            cors_origins: v.list("CORS_ORIGINS"),
            trusted_proxies: v
                .list("TRUSTED_PROXIES")
                .iter()
                .map(|s| parse_cidr(s))
                .collect::<Result<_, _>>()?,
            login_rate_limit: v.rate("LOGIN_RATE_LIMIT", "10/15m")?,
            mail_rate_limit: v.rate("MAIL_RATE_LIMIT", "5/1h")?,
            otp_resend_interval: v.duration("OTP_RESEND_INTERVAL", "60s")?,
            hash_concurrency: v.positive("HASH_CONCURRENCY", default_cores)?,
            hash_queue_timeout: v.duration("HASH_QUEUE_TIMEOUT", "5s")?,
            graphiql: v.bool("GRAPHIQL", app_env == AppEnv::Development)?,
            log_format: match v.get("LOG_FORMAT").as_deref() {
                None | Some("pretty") => LogFormat::Pretty,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(invalid(
                        "LOG_FORMAT",
                        format!("expected pretty or json, got {other:?}"),
                    ));
                }
            },
            log_filter: v.get("RUST_LOG"),
            max_body_bytes: v.positive("MAX_BODY_BYTES", 1_048_576)?,
            max_batch: v.positive("MAX_BATCH", 10)?,
            max_depth: v.positive("MAX_DEPTH", 20)?,
            max_complexity: v.positive("MAX_COMPLEXITY", 1000)?,
        };
        Ok((settings, warnings))
    }

    /// The key bytes for HMACs and JWT signatures.
    pub fn secret_bytes(&self) -> &[u8] {
        self.secret_key.expose_secret().as_bytes()
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// `AUTHQL_PASSWORD`, for `create-superuser` run without a terminal.
pub fn superuser_password_from_env() -> Option<SecretString> {
    std::env::var("AUTHQL_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(SecretString::from)
}

fn invalid(name: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        message: message.into(),
    }
}

/// Read access to the variable map; empty values count as unset, as with
/// Django's `env()` helpers, so `FOO=` in a .env file means "default".
struct Vars<'a>(&'a HashMap<String, String>);

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    fn parse<T: std::str::FromStr>(
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

    fn positive<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
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

    fn bool(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
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

    fn duration(&self, name: &'static str, default: &str) -> Result<Duration, ConfigError> {
        let raw = self.get(name).unwrap_or_else(|| default.to_owned());
        parse_duration(name, &raw)
    }

    fn rate(&self, name: &'static str, default: &str) -> Result<RateLimit, ConfigError> {
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

    fn list(&self, name: &str) -> Vec<String> {
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

fn parse_url(name: &'static str, raw: &str) -> Result<String, ConfigError> {
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

fn parse_cidr(raw: &str) -> Result<IpNet, ConfigError> {
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| {
            invalid(
                "TRUSTED_PROXIES",
                format!("{raw:?} is not a CIDR or IP address"),
            )
        })
}

fn parse_email_url(raw: &str) -> Result<EmailTransport, ConfigError> {
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
fn load_or_generate_secret(path: &Path) -> Result<(SecretString, bool), ConfigError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_match_the_contract() {
        let (s, _) =
            Settings::from_vars(&vars(&[("SECRET_KEY", KEY)]), Path::new("/nonexistent")).unwrap();
        assert_eq!(s.database_url, "sqlite://authql.db?mode=rwc");
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8000");
        assert_eq!(s.public_url, "http://127.0.0.1:8000");
        assert_eq!(s.email, EmailTransport::Console);
        assert_eq!(s.access_token_ttl, Duration::from_secs(300));
        assert_eq!(s.refresh_token_ttl, Duration::from_secs(86_400));
        assert_eq!(
            s.login_rate_limit,
            RateLimit {
                max: 10,
                window: Duration::from_secs(900)
            }
        );
        assert_eq!(
            s.mail_rate_limit,
            RateLimit {
                max: 5,
                window: Duration::from_secs(3600)
            }
        );
        assert_eq!(s.two_factor, TwoFactorPolicy::Optional);
        assert!(s.require_activation && s.graphiql);
        assert_eq!(
            (s.max_body_bytes, s.max_batch, s.max_depth, s.max_complexity),
            (1_048_576, 10, 20, 1000)
        );
    }

    #[test]
    fn production_refuses_to_start_without_a_secret_key() {
        let err = Settings::from_vars(
            &vars(&[
                ("APP_ENV", "production"),
                ("EMAIL_URL", "smtp://localhost:25"),
            ]),
            Path::new("/nonexistent"),
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::MissingSecretInProduction));
    }

    #[test]
    fn production_refuses_console_email() {
        let err = Settings::from_vars(
            &vars(&[("APP_ENV", "production"), ("SECRET_KEY", KEY)]),
            Path::new("/nonexistent"),
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::ConsoleEmailInProduction));
    }

    #[test]
    fn production_turns_graphiql_off_unless_asked() {
        let base = [
            ("APP_ENV", "production"),
            ("SECRET_KEY", KEY),
            ("EMAIL_URL", "smtp://mail:25"),
        ];
        let (s, _) = Settings::from_vars(&vars(&base), Path::new("/x")).unwrap();
        assert!(!s.graphiql);
        let mut with = base.to_vec();
        with.push(("GRAPHIQL", "true"));
        let (s, _) = Settings::from_vars(&vars(&with), Path::new("/x")).unwrap();
        assert!(s.graphiql);
    }

    #[test]
    fn short_secret_keys_are_refused() {
        let err =
            Settings::from_vars(&vars(&[("SECRET_KEY", "short")]), Path::new("/x")).unwrap_err();
        assert!(err.to_string().contains("SECRET_KEY"));
    }

    #[test]
    fn a_missing_development_key_is_generated_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("authql-secret-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let (first, warnings) = Settings::from_vars(&vars(&[]), &dir).unwrap();
        assert_eq!(warnings.len(), 1);
        let (second, _) = Settings::from_vars(&vars(&[]), &dir).unwrap();
        assert_eq!(first.secret_bytes(), second.secret_bytes());
        assert!(first.secret_bytes().len() >= MIN_SECRET_BYTES);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn malformed_values_name_their_variable() {
        for (name, value) in [
            ("ACCESS_TOKEN_TTL", "soon"),
            ("ACCESS_TOKEN_TTL", "0s"),
            ("LOGIN_RATE_LIMIT", "ten per minute"),
            ("LOGIN_RATE_LIMIT", "0/1m"),
            ("MAX_BATCH", "0"),
            ("MAX_BATCH", "-1"),
            ("BIND_ADDR", "localhost"),
            ("EMAIL_URL", "carrier-pigeon://"),
            ("TRUSTED_PROXIES", "10.0.0.0/99"),
            ("PUBLIC_URL", "ftp://example.com"),
            ("TWO_FACTOR", "sometimes"),
            ("REQUIRE_ACTIVATION", "maybe"),
        ] {
            let err = Settings::from_vars(
                &vars(&[("SECRET_KEY", KEY), (name, value)]),
                Path::new("/x"),
            )
            .expect_err(name);
            assert!(err.to_string().starts_with(name), "{name}={value}: {err}");
        }
    }

    #[test]
    fn lists_and_rates_parse() {
        let (s, _) = Settings::from_vars(
            &vars(&[
                ("SECRET_KEY", KEY),
                ("CORS_ORIGINS", "https://a.example, https://b.example"),
                ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
                ("MAIL_RATE_LIMIT", "3/10m"),
                ("EMAIL_URL", "file:///tmp/mail"),
                ("PUBLIC_URL", "https://auth.example.com/"),
            ]),
            Path::new("/x"),
        )
        .unwrap();
        assert_eq!(s.cors_origins.len(), 2);
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.mail_rate_limit.max, 3);
        assert_eq!(s.email, EmailTransport::File("/tmp/mail".into()));
        assert_eq!(s.public_url, "https://auth.example.com");
    }
}
