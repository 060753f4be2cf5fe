//! The database settings of API.md §6 and §8.10: where to connect, how the
//! connection is protected (`sslmode`, read the way libpq reads it), and
//! where the listener of §8.6 connects.

use super::values::ConfigError;
use super::vars::{Vars, invalid};

/// `sslmode`, as libpq spells it; `prefer` when the URL says nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    /// The mode `url` asks for; `None` for one libpq does not know.
    pub fn of(url: &str) -> Option<SslMode> {
        Some(match url_param(url, "sslmode") {
            None | Some("prefer") => SslMode::Prefer,
            Some("disable") => SslMode::Disable,
            Some("require") => SslMode::Require,
            Some("verify-ca") => SslMode::VerifyCa,
            Some("verify-full") => SslMode::VerifyFull,
            Some(_) => return None,
        })
    }

    /// Whether the connection is encrypted whatever the server offers.
    pub fn encrypts(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }
}

/// The URL's query parameter `name` (values used here need no decoding).
pub fn url_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    pub url: String,
    /// `DATABASE_LISTEN_URL`: PostgreSQL itself, also behind a pooler.
    pub listen_url: String,
    /// `DATABASE_POOLER=transaction`: `url` is a transaction-pooling
    /// PgBouncer (no session state between transactions).
    pub pooled: bool,
}

impl DatabaseSettings {
    /// `production`: whether `APP_ENV` is production (plaintext is refused).
    pub(super) fn from_vars(v: &Vars, production: bool) -> Result<DatabaseSettings, ConfigError> {
        let url = v
            .get("DATABASE_URL")
            .unwrap_or_else(|| "sqlite://authql.db?mode=rwc".into());
        check(&url, "DATABASE_URL", production, v)?;
        let listen_url = match v.get("DATABASE_LISTEN_URL") {
            Some(listen) if !is_postgres(&listen) || !is_postgres(&url) => {
                return Err(invalid(
                    "DATABASE_LISTEN_URL",
                    "must be a postgres:// URL, beside a PostgreSQL DATABASE_URL (the listener of §8.6)",
                ));
            }
            Some(listen) => {
                check(&listen, "DATABASE_LISTEN_URL", production, v)?;
                listen
            }
            None => url.clone(),
        };
        let pooled = match v.get("DATABASE_POOLER").as_deref() {
            None | Some("none") => false,
            // Migrations (a session's advisory lock) and LISTEN need a
            // session of their own: PostgreSQL itself, not the pooler.
            Some("transaction") if is_postgres(&url) && listen_url == url => {
                return Err(invalid(
                    "DATABASE_LISTEN_URL",
                    "with DATABASE_POOLER=transaction, set it to PostgreSQL itself (not the pooler)",
                ));
            }
            Some("transaction") if is_postgres(&url) => true,
            Some("transaction") => {
                return Err(invalid(
                    "DATABASE_POOLER",
                    "transaction pooling is for a postgres:// DATABASE_URL",
                ));
            }
            Some(other) => {
                return Err(invalid(
                    "DATABASE_POOLER",
                    format!("expected none or transaction, got {other:?}"),
                ));
            }
        };
        Ok(DatabaseSettings {
            url,
            listen_url,
            pooled,
        })
    }
}

/// Whether `url` names a PostgreSQL server (any case of the scheme).
pub fn is_postgres(url: &str) -> bool {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql")
}

/// Query parameters tokio-postgres (the direct path) reads as sqlx does.
pub const SHARED_PARAMS: &[&str] = &[
    "user",
    "password",
    "dbname",
    "options",
    "application_name",
    "host",
    "hostaddr",
    "port",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
];

/// Read by sqlx, and for the direct path by `db::tls` (TLS) or not at all.
const OWN_PARAMS: &[&str] = &["sslmode", "sslrootcert", "statement-cache-capacity"];

/// Refuses a URL that sqlx (the pool, the listener, the CLI) and
/// tokio-postgres (the direct path) could read differently, so that what
/// is checked here is what both connect with: a fragment, an `@` outside
/// the user part, a parameter twice, spelt another way (`ssl-mode`) or
/// percent-encoded, and `sslrootcert` with less than `verify-ca` (libpq
/// would check it; sqlx would not).
fn unambiguous(url: &str) -> Result<(), &'static str> {
    if url.contains('#') {
        return Err("must not contain '#' (percent-encode it)");
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if url.matches('@').count() > usize::from(authority.contains('@')) {
        return Err("'@' may appear once, before the host (percent-encode it in a password)");
    }
    let mut seen: Vec<&str> = Vec::new();
    let query = url.split_once('?').map_or("", |(_, query)| query);
    for key in query.split('&').filter(|p| !p.is_empty()) {
        let key = key.split_once('=').map_or(key, |(key, _)| key);
        if !SHARED_PARAMS.contains(&key) && !OWN_PARAMS.contains(&key) {
            return Err("has a parameter the server does not read alike on every connection");
        }
        if seen.contains(&key) {
            return Err("names a parameter twice");
        }
        seen.push(key);
    }
    Ok(())
}

fn check(url: &str, name: &'static str, production: bool, v: &Vars) -> Result<(), ConfigError> {
    // Every connection of an in-memory SQLite database would see a
    // database of its own: the server needs a file.
    if url.starts_with("sqlite:") && (url.contains(":memory:") || url.contains("mode=memory")) {
        return Err(invalid(
            name,
            "an in-memory SQLite database is not supported; name a file (sqlite://authql.db?mode=rwc)",
        ));
    }
    if !is_postgres(url) {
        return Ok(());
    }
    unambiguous(url).map_err(|why| invalid(name, why))?;
    let Some(mode) = SslMode::of(url) else {
        return Err(invalid(
            name,
            "sslmode must be disable, prefer, require, verify-ca or verify-full",
        ));
    };
    let root = url_param(url, "sslrootcert").is_some();
    let verifies = matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull);
    if (root && !verifies) || (mode == SslMode::VerifyCa && !root) {
        return Err(invalid(
            name,
            "sslrootcert goes with sslmode=verify-ca or verify-full, and verify-ca needs it",
        ));
    }
    // sqlx reads PGHOST and PGHOSTADDR when the URL names no host.
    let from_env = ["PGHOST", "PGHOSTADDR"].map(|var| v.get(var));
    let local = is_loopback(url) && from_env.iter().flatten().all(|h| is_loopback_host(h));
    if production && !mode.encrypts() && !local && !v.bool("DATABASE_ALLOW_PLAINTEXT", false)? {
        return Err(invalid(
            name,
            "in production a PostgreSQL server other than loopback needs sslmode=require, \
             verify-ca or verify-full (or DATABASE_ALLOW_PLAINTEXT=true)",
        ));
    }
    Ok(())
}

/// Whether every host `url` names is this machine: loopback, a Unix socket
/// (a path, or no host at all).
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    let mut names: Vec<&str> = hosts.split(',').map(without_port).collect();
    for param in ["host", "hostaddr"] {
        names.extend(
            url_param(url, param)
                .map(|value| value.split(','))
                .into_iter()
                .flatten(),
        );
    }
    names.iter().all(|host| is_loopback_host(host))
}

/// A host name, address or socket directory on this machine.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.is_empty()
        || host.starts_with('/')
        || host.starts_with("%2F")
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        // `[::1]:5432`, `db:5432`; a bare IPv6 address has no brackets here.
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.ends_with(':') => {
            name
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_told_apart() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/db",
            "postgres://u:p@localhost/db",
            "postgres://[::1]:5432/db",
            "postgres:///db?host=/var/run/postgresql",
            "postgres://u@%2Fvar%2Frun%2Fpostgresql/db",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "postgres://u:p@db.example.com:5432/db",
            "postgres://u@10.0.0.5/db",
            "postgres://u@127.0.0.1,db.example.com/db",
            "postgres://u@localhost/db?host=db.example.com",
            "postgres://localhost.example.com/db",
            "postgres://localhost/db?hostaddr=203.0.113.5",
            "postgres://localhost/db?host=/tmp,db.example.com",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }

    /// What sqlx and tokio-postgres could read apart is refused (review).
    #[test]
    fn ambiguous_urls_are_refused() {
        for url in [
            "postgres://u@db.example.com/db?sslmode=require&ssl-mode=disable",
            "postgres://u@db.example.com/db?sslmode=require&sslmode=disable",
            "postgres://u@db.example.com/db?ssl%6Dode=disable",
            "postgres://localhost/db?host=localhost&host=db.example.com",
            "postgres://u:p@db.example.com#@localhost/db",
            "postgres://localhost:5432/@db.example.com?sslmode=disable",
            "postgres://u@db.example.com/db?sslmode=require&ssl-ca=/x.pem",
        ] {
            assert!(unambiguous(url).is_err(), "{url}");
        }
        assert!(
            unambiguous("postgres://u:p%40ss@h:5432/db?sslmode=verify-full&sslrootcert=/ca.pem")
                .is_ok()
        );
    }
}
