//! Settings, read once from the environment (and a `.env` file) and validated
//! before anything starts. This is the only module that reads the environment:
//! everything else is handed a `Settings` or a part of it, so tests configure
//! the server exactly as an operator would.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};

/// Where the generated development key is kept between runs.
pub const SECRET_FILE: &str = ".authql-secret";

pub mod database;
mod jwt;
mod oauth;
mod organizations;
mod sign_in;
mod social;
mod values;
mod vars;
mod webauthn;
mod webhooks;

use database::DatabaseSettings;
pub use jwt::{JWT_KEY_FILE, JwtAlgorithm, JwtClaims, JwtKeySource, JwtSettings};
pub use oauth::OauthSettings;
pub use organizations::OrganizationSettings;
pub use sign_in::{SignInSettings, with_answer};
pub use social::{GithubProvider, OidcProvider, Provider, SocialSettings};
use values::MIN_SECRET_BYTES;
pub use values::{ConfigError, EmailTransport, RateLimit};
pub use webauthn::{RelyingParty, WebauthnSettings};
pub use webhooks::{ClaimsHook, WebhookSettings};

use vars::{Vars, invalid, load_or_generate_secret, parse_cidr, parse_email_url, parse_url};

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

/// Every setting of API.md §6, validated.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    /// Where the listener of §8.6 connects (`DATABASE_LISTEN_URL`).
    pub database_listen_url: String,
    /// `DATABASE_POOLER=transaction` (API.md §8.10).
    pub database_pooled: bool,
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
    /// The issuer authenticator apps show beside the account (API.md §8.4).
    pub totp_issuer: String,
    /// How long after its user last proved who they are a session may make
    /// sensitive changes (API.md §8.1, "fresh").
    pub privileged_session_ttl: Duration,
    /// A session's absolute lifetime, however often it is refreshed.
    pub session_max_age: Duration,
    /// Where `GET /metrics` listens (API.md §8.7); unset: no metrics.
    pub metrics_addr: Option<SocketAddr>,
    /// How long security events are kept (API.md §8.2).
    pub audit_retention: Duration,
    /// How long a stopping instance finishes accepted work (API.md §8.10).
    pub shutdown_grace: Duration,
    pub activation_redirect_url: Option<String>,
    /// Where the mailed address-change link redirects (API.md §8.5).
    pub email_change_redirect_url: Option<String>,
    pub password_reset_url: Option<String>,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub login_rate_limit: RateLimit,
    pub mail_rate_limit: RateLimit,
    /// Delivery tries before a message is given up (API.md §8.1).
    pub mail_max_attempts: u32,
    /// `register` calls per client IP (API.md §8.1).
    pub register_rate_limit: RateLimit,
    pub otp_resend_interval: Duration,
    pub hash_concurrency: usize,
    pub hash_queue_timeout: Duration,
    /// The longest a read statement runs, or waits for its turn to run,
    /// before the field gets `SERVICE_UNAVAILABLE` (API.md §8.1).
    pub query_timeout: Duration,
    pub graphiql: bool,
    pub log_format: LogFormat,
    /// `RUST_LOG`, handed to the tracing filter.
    pub log_filter: Option<String>,
    pub max_body_bytes: usize,
    /// Open WebSocket connections per user, per instance (API.md §8.6).
    pub max_subscriptions_per_user: usize,
    /// Live subscriptions on one WebSocket (API.md §8.9).
    pub max_operations_per_socket: usize,
    pub max_batch: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
    /// How access tokens are signed and what they claim (API.md §8.3).
    pub jwt: JwtSettings,
    /// Passkeys' relying party, or why passkeys are off.
    pub webauthn: WebauthnSettings,
    /// Browser flows' targets and email sign-in (API.md §9.1, §9.2).
    pub sign_in: SignInSettings,
    /// Webhook deliveries (API.md §11).
    pub webhooks: WebhookSettings,
    /// Organizations' invitations and limits (API.md §10.6).
    pub organizations: OrganizationSettings,
    /// Social sign-in's providers (API.md §9.1).
    pub social: SocialSettings,
    /// authql as an OAuth 2.1 / OpenID Connect provider (API.md §9.3).
    pub oauth: OauthSettings,
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
        let public_url = parse_url(
            "PUBLIC_URL",
            &v.get("PUBLIC_URL")
                // `localhost`, not an IP address: browsers accept it as a
                // passkeys' relying party id (API.md §8.10).
                .unwrap_or_else(|| "http://localhost:8000".into()),
        )?
        .trim_end_matches('/')
        .to_owned();
        let jwt = JwtSettings::from_vars(&v, app_env, &public_url, secret_dir)?;
        let webauthn = WebauthnSettings::from_vars(&v, &public_url)?;
        let database = DatabaseSettings::from_vars(&v, app_env == AppEnv::Production)?;
        let settings = Settings {
            database_url: database.url,
            database_listen_url: database.listen_url,
            database_pooled: database.pooled,
            bind_addr: v.parse("BIND_ADDR", "127.0.0.1:8000")?,
            public_url,
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
            totp_issuer: totp_issuer(v.get("TOTP_ISSUER"))?,
            privileged_session_ttl: v.duration("PRIVILEGED_SESSION_TTL", "15m")?,
            session_max_age: v.duration("SESSION_MAX_AGE", "30d")?,
            audit_retention: v.duration("AUDIT_RETENTION", "90d")?,
            shutdown_grace: v.duration("SHUTDOWN_GRACE", "10s")?,
            metrics_addr: v
                .get("METRICS_ADDR")
                .map(|_| v.parse("METRICS_ADDR", ""))
                .transpose()?,
            activation_redirect_url: v
                .get("ACTIVATION_REDIRECT_URL")
                .map(|u| parse_url("ACTIVATION_REDIRECT_URL", &u))
                .transpose()?,
            email_change_redirect_url: v
                .get("EMAIL_CHANGE_REDIRECT_URL")
                .map(|u| parse_url("EMAIL_CHANGE_REDIRECT_URL", &u))
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
            mail_max_attempts: v.positive("MAIL_MAX_ATTEMPTS", 10)?,
            register_rate_limit: v.rate("REGISTER_RATE_LIMIT", "20/1h")?,
            otp_resend_interval: v.duration("OTP_RESEND_INTERVAL", "60s")?,
            hash_concurrency: v.positive("HASH_CONCURRENCY", default_cores)?,
            hash_queue_timeout: v.duration("HASH_QUEUE_TIMEOUT", "5s")?,
            query_timeout: match v.duration("QUERY_TIMEOUT", "2s")? {
                t if t.as_millis() == 0 => {
                    return Err(invalid("QUERY_TIMEOUT", "must be at least 1ms"));
                }
                t => t,
            },
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
            max_subscriptions_per_user: v.positive("MAX_SUBSCRIPTIONS_PER_USER", 10)?,
            max_operations_per_socket: v.positive("MAX_OPERATIONS_PER_SOCKET", 5)?,
            max_batch: v.positive("MAX_BATCH", 10)?,
            max_depth: v.positive("MAX_DEPTH", 20)?,
            max_complexity: v.positive("MAX_COMPLEXITY", 1000)?,
            webauthn,
            sign_in: SignInSettings::from_vars(&v)?,
            webhooks: WebhookSettings::from_vars(&v)?,
            organizations: OrganizationSettings::from_vars(&v)?,
            social: SocialSettings::from_vars(&v, app_env)?,
            oauth: OauthSettings::from_vars(&v, jwt.algorithm)?,
            jwt,
        };
        if settings.webhooks.allow_private && app_env == AppEnv::Production {
            warnings.push(
                "WEBHOOK_ALLOW_PRIVATE=true in production: webhook endpoints may reach this server's own network".into(),
            );
        }
        Ok((settings, warnings))
    }

    /// The key bytes for HMACs and JWT signatures.
    pub fn secret_bytes(&self) -> &[u8] {
        self.secret_key.expose_secret().as_bytes()
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// Where migrations run: PostgreSQL itself behind a transaction pooler
    /// (they hold a session's advisory lock), else `DATABASE_URL`.
    pub fn migration_url(&self) -> &str {
        match self.database_pooled {
            true => &self.database_listen_url,
            false => &self.database_url,
        }
    }
}

/// `AUTHQL_PASSWORD`, for `create-superuser` run without a terminal.
pub fn superuser_password_from_env() -> Option<SecretString> {
    std::env::var("AUTHQL_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(SecretString::from)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_social;

/// `TOTP_ISSUER`: shown by apps as "issuer: account", so it may not hold a
/// `:` (the URI's separator) and must say something.
fn totp_issuer(value: Option<String>) -> Result<String, ConfigError> {
    let issuer = value.unwrap_or_else(|| "authql".into());
    if issuer.trim().is_empty() || issuer.contains(':') || issuer.len() > 100 {
        return Err(invalid(
            "TOTP_ISSUER",
            format!("expected 1-100 characters without ':', got {issuer:?}"),
        ));
    }
    Ok(issuer)
}
