//! Fixed-window counters in the database, so every instance sharing it
//! sees the same counts. Each hit is one atomic upsert: no read-then-write.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Value};

use crate::auth::tokens::sha256_hex;
use crate::config::RateLimit;
use crate::db::statement;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;

/// The outcome of counting one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit; the window ends in this many seconds.
    Limited {
        retry_after_secs: u64,
    },
}

impl Verdict {
    pub fn is_allowed(self) -> bool {
        self == Verdict::Allowed
    }
}

/// The key of a counter: a digest, so raw identifiers are not kept at rest.
pub fn key(scope: &str, subject: &str) -> String {
    sha256_hex(&format!("{scope}:{subject}"))
}

/// The key of a per-IP limit (API.md §8.1). An IPv6 client is keyed by its
/// /64, the block one subscriber is handed: otherwise each of its 2^64
/// addresses would get a budget of its own. IPv4 (and IPv4-mapped IPv6)
/// keys by the address.
pub fn ip_key(scope: &str, ip: &str) -> String {
    let subject = match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            ipnet::Ipv6Net::new(v6, 64)
                .map(|net| net.trunc().to_string())
                .unwrap_or_else(|_| ip.to_owned())
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or(ip.to_owned(), |v4| v4.to_string()),
        _ => ip.to_owned(),
    };
    key(scope, &subject)
}

/// Counts one event against `key` and says whether it is within `limit`.
#[tracing::instrument(skip_all)]
pub async fn hit(
    conn: &impl ConnectionTrait,
    key: &str,
    limit: RateLimit,
    now: DateTime<Utc>,
) -> Result<Verdict, DbErr> {
    Ok(hit_counting(conn, key, limit, now).await?.0)
}

/// `hit`, also answering the count in the window, this event included.
#[tracing::instrument(skip_all)]
pub async fn hit_counting(
    conn: &impl ConnectionTrait,
    key: &str,
    limit: RateLimit,
    now: DateTime<Utc>,
) -> Result<(Verdict, u32), DbErr> {
    let Counted {
        count,
        window_start,
        ..
    } = upsert(conn, key, limit, now, false).await?;
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    Ok((
        verdict(count, window_start, limit, now),
        u32::try_from(count).unwrap_or(0),
    ))
}

/// Forgets the counter (e.g. after a successful login).
#[tracing::instrument(skip_all)]
pub async fn clear(conn: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    use entity::rate_limit;
    use sea_orm::EntityTrait;
    rate_limit::Entity::delete_by_id(key.to_owned())
        .exec(conn)
        .await?;
    Ok(())
}

fn verdict(
    count: i32,
    window_start: DateTime<Utc>,
    limit: RateLimit,
    now: DateTime<Utc>,
) -> Verdict {
    if count as i64 <= limit.max as i64 {
        return Verdict::Allowed;
    }
    let window = chrono::Duration::from_std(limit.window).unwrap_or(chrono::Duration::MAX);
    Verdict::Limited {
        retry_after_secs: seconds_until(window_start + window, now),
    }
}

/// Whole seconds from `now` until `later`, at least 1: a `retryAfter` of 0
/// would invite an immediate retry that fails again.
pub fn seconds_until(later: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    // Rounded up (API.md §8.9): a client that waits this long is past it.
    let millis = (later - now).num_milliseconds().max(1);
    (millis as u64).div_ceil(1000)
}

/// The per-IP limit on anonymous requests that send mail: the only limit
/// on them that answers `RATE_LIMITED` (the per-address budget is silent).
#[tracing::instrument(skip_all)]
pub async fn mail_request_allowed(
    app: &AppContext,
    client_ip: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let per_ip = RateLimit {
        max: app.settings.login_rate_limit.max.saturating_mul(5),
        window: app.settings.login_rate_limit.window,
    };
    match hit(app.db.alone(), &ip_key("mail-ip", client_ip), per_ip, now).await? {
        Verdict::Allowed => Ok(()),
        Verdict::Limited { retry_after_secs } => Err(AppError::RateLimited { retry_after_secs }),
    }
}

/// A counter as one hit left it.
pub struct Counted {
    pub count: i64,
    /// Of `count`, the attempts not yet judged (see `login_limits`).
    pub pending: i64,
    pub window_start: DateTime<Utc>,
}

/// Counts one event against `key` (as still pending when `pending`),
/// starting a new window when the old one has passed: one atomic upsert,
/// no read-then-write.
#[tracing::instrument(skip_all)]
pub async fn upsert(
    conn: &impl ConnectionTrait,
    key: &str,
    limit: RateLimit,
    now: DateTime<Utc>,
    pending: bool,
) -> Result<Counted, DbErr> {
    let window = chrono::Duration::from_std(limit.window).unwrap_or(chrono::Duration::MAX);
    let expired_before = now - window;
    let pending = i32::from(pending);
    let stmt = statement(
        conn.get_database_backend(),
        "INSERT INTO rate_limit (key, window_start, count, pending) VALUES (?, ?, 1, ?) \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN rate_limit.window_start <= ? THEN 1 ELSE rate_limit.count + 1 END, \
           pending = CASE WHEN rate_limit.window_start <= ? THEN excluded.pending ELSE rate_limit.pending + excluded.pending END, \
           window_start = CASE WHEN rate_limit.window_start <= ? THEN excluded.window_start ELSE rate_limit.window_start END \
         RETURNING count, pending, window_start",
        [
            Value::from(key.to_owned()),
            Value::from(now),
            Value::from(pending),
            Value::from(expired_before),
            Value::from(expired_before),
            Value::from(expired_before),
        ],
    );
    let row = conn
        .query_one_raw(stmt)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("rate_limit upsert returned no row".into()))?;
    Ok(Counted {
        count: i64::from(row.try_get::<i32>("", "count")?),
        pending: i64::from(row.try_get::<i32>("", "pending")?),
        window_start: row.try_get("", "window_start")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_their_64_and_ipv4_keys_by_address() {
        let k = |ip| ip_key("s", ip);
        assert_eq!(k("2001:db8:1:2::1"), k("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::ffff:192.0.2.7"), k("192.0.2.7"));
        assert_ne!(k("192.0.2.7"), k("192.0.2.8"));
        assert_ne!(ip_key("a", "192.0.2.7"), ip_key("b", "192.0.2.7"));
    }
}
