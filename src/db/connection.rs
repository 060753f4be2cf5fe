//! What every connection to the database shares, on the pool and the
//! direct path alike: its timeouts and, on PostgreSQL, its settings.

use std::time::Duration;

use sea_orm::DbErr;

use crate::config::database::SHARED_PARAMS;

/// A statement that takes longer is logged (its time only: statements can
/// carry secrets in their values), on the pool and on the direct path.
pub const SLOW_QUERY: Duration = Duration::from_millis(250);

/// The longest a new connection may take, on the pool and the direct path.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// PostgreSQL connection options that cut every statement off after
/// `timeout`.
pub fn with_statement_timeout(
    options: sea_orm::sqlx::postgres::PgConnectOptions,
    timeout: Duration,
) -> sea_orm::sqlx::postgres::PgConnectOptions {
    let ms = timeout.as_millis().max(1);
    options.options([("statement_timeout", ms)])
}

/// The connection settings of `url`, less the options only sqlx reads
/// (tokio-postgres refuses options it does not know) and `sslmode` and
/// `sslrootcert`, which `tls::connector` reads (tokio-postgres knows no
/// `verify-*`).
pub fn pg_config(url: &str) -> Result<tokio_postgres::Config, DbErr> {
    let url = match url.split_once('?') {
        None => url.to_owned(),
        Some((base, query)) => {
            let known: Vec<&str> = query
                .split('&')
                .filter(|pair| SHARED_PARAMS.contains(&pair.split('=').next().unwrap_or_default()))
                .collect();
            match known.is_empty() {
                true => base.to_owned(),
                false => format!("{base}?{}", known.join("&")),
            }
        }
    };
    <tokio_postgres::Config as std::str::FromStr>::from_str(&url)
        .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::Internal(format!("PostgreSQL: {e}"))))
}
