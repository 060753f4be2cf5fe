//! The failed-sign-in limits: per submitted identifier (whether or not an
//! account has it, so the limit reveals nothing) and per client IP at five
//! times the rate (`LOGIN_RATE_LIMIT`), held in the database so that every
//! instance sees the same counts.
//!
//! An attempt is counted before its secret is judged, so parallel attempts
//! cannot slip past the limit between a check and a count, and while an
//! identifier is limited even the right password is refused. Each counter
//! also knows how many of its attempts are still being judged (`pending`):
//! an attempt that those alone push over the limit waits for them instead of
//! being refused (API.md §8.1), so N parallel right passwords all succeed,
//! while of 11 parallel wrong ones under `10/15m` exactly 10 are judged.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Value};

use crate::config::{RateLimit, Settings};
use crate::db::{Db, now, statement};
use crate::error::{AppError, AppResult};
use crate::services::shared::rate_limit::{Counted, hit, ip_key, key, seconds_until, upsert};

/// How often a waiting attempt looks again at the counters.
const RECHECK: Duration = Duration::from_millis(20);

pub struct LoginLimits {
    identifier_key: String,
    ip_key: String,
    per_identifier: RateLimit,
    per_ip: RateLimit,
}

impl LoginLimits {
    pub fn new(settings: &Settings, identifier: &str, client_ip: &str) -> LoginLimits {
        let per_identifier = settings.login_rate_limit;
        LoginLimits {
            identifier_key: identifier_key(identifier),
            ip_key: ip_key("login-ip", client_ip),
            per_identifier,
            per_ip: RateLimit {
                max: per_identifier.max.saturating_mul(5),
                window: per_identifier.window,
            },
        }
    }

    /// Counts this attempt as pending on both counters. Over a limit, it is
    /// uncounted again and refused if the judged failures alone reach the
    /// limit; if only attempts still being judged push it over, it waits for
    /// them (at most `wait`) and tries again.
    pub async fn begin(&self, db: &Db, wait: Duration) -> AppResult<Attempt> {
        let deadline = Instant::now() + wait;
        loop {
            let now = now();
            let identifier = upsert(
                db.alone(),
                &self.identifier_key,
                self.per_identifier,
                now,
                true,
            )
            .await?;
            let ip = upsert(db.alone(), &self.ip_key, self.per_ip, now, true).await?;
            let attempt = Attempt {
                db: db.clone(),
                identifier_key: self.identifier_key.clone(),
                ip_key: self.ip_key.clone(),
                settled: false,
            };
            let over: Vec<(&Counted, RateLimit)> =
                [(&identifier, self.per_identifier), (&ip, self.per_ip)]
                    .into_iter()
                    .filter(|(c, limit)| c.count > i64::from(limit.max))
                    .collect();
            if over.is_empty() {
                return Ok(attempt);
            }
            let judged_over = over
                .iter()
                .find(|(c, limit)| c.count - c.pending >= i64::from(limit.max));
            if let Some((c, limit)) = judged_over {
                // A refusal costs the one refused (API.md §8.9): it stays
                // counted on the client IP, never on the identifier.
                attempt.refused().await?;
                let window =
                    chrono::Duration::from_std(limit.window).unwrap_or(chrono::Duration::MAX);
                return Err(AppError::RateLimited {
                    retry_after_secs: seconds_until(c.window_start + window, now),
                });
            }
            attempt.withdraw().await?;
            if Instant::now() >= deadline {
                return Err(AppError::RateLimited {
                    retry_after_secs: 1,
                });
            }
            tokio::time::sleep(RECHECK).await;
        }
    }
}

/// Whether this refusal is the identifier's first in its window, so that
/// `LOGIN_RATE_LIMITED` is recorded once per window however many refusals
/// follow. Known and unknown identifiers pay the same write.
#[tracing::instrument(skip_all)]
pub async fn first_refusal(db: &Db, settings: &Settings, identifier: &str) -> Result<bool, DbErr> {
    let once = RateLimit {
        max: 1,
        window: settings.login_rate_limit.window,
    };
    let key = key("login-refused", &identifier.trim().to_lowercase());
    Ok(hit(db.alone(), &key, once, now()).await?.is_allowed())
}

/// The client IP's share of the login limit (5 × `LOGIN_RATE_LIMIT`).
fn per_ip(settings: &Settings) -> RateLimit {
    RateLimit {
        max: settings.login_rate_limit.max.saturating_mul(5),
        window: settings.login_rate_limit.window,
    }
}

/// Seconds until the client IP may try again, when its failures have
/// reached its login limit: for credentials checked outside `login` (OAuth
/// client secrets, native apps' ID tokens).
#[tracing::instrument(skip_all)]
pub async fn ip_refused(db: &Db, settings: &Settings, ip: &str) -> Result<Option<u64>, DbErr> {
    let limit = per_ip(settings);
    let row = db
        .read()
        .one(entity::rate_limit::Entity::find_by_id(ip_key(
            "login-ip", ip,
        )))
        .await?;
    let now = now();
    let window = chrono::Duration::from_std(limit.window).unwrap_or(chrono::Duration::MAX);
    Ok(row
        .filter(|r| {
            r.window_start + window > now && i64::from(r.count - r.pending) >= i64::from(limit.max)
        })
        .map(|r| seconds_until(r.window_start + window, now)))
}

/// Counts one failed credential against the client IP's login limit.
#[tracing::instrument(skip_all)]
pub async fn ip_failed(db: &Db, settings: &Settings, ip: &str) -> Result<(), DbErr> {
    hit(db.alone(), &ip_key("login-ip", ip), per_ip(settings), now()).await?;
    Ok(())
}

/// The counter key of an identifier, as `begin` counts it.
pub fn identifier_key(identifier: &str) -> String {
    key("login-id", &identifier.trim().to_lowercase())
}

/// An attempt counted and not yet judged. Settle it with `failed`,
/// `succeeded` or `withdraw`; one dropped unsettled (its request went away
/// mid-check, or failed on an error) counts as a failure, as it would have
/// before it was judged.
pub struct Attempt {
    db: Db,
    identifier_key: String,
    ip_key: String,
    settled: bool,
}

/// What settling does to a counter.
#[derive(Clone, Copy)]
enum Settle {
    /// Judged wrong: no longer pending, still counted.
    Failed,
    /// Not a failure: uncounted.
    Uncounted,
    /// A right secret for the identifier: its failures are forgiven, the
    /// attempts still pending stay counted.
    Forgiven,
}

impl Settle {
    fn sql(self) -> &'static str {
        match self {
            Settle::Failed => {
                "UPDATE rate_limit SET pending = pending - 1 WHERE key = ? AND pending > 0"
            }
            Settle::Uncounted => {
                "UPDATE rate_limit SET count = count - 1, pending = pending - 1 WHERE key = ? AND pending > 0"
            }
            Settle::Forgiven => {
                "UPDATE rate_limit SET count = pending - 1, pending = pending - 1 WHERE key = ? AND pending > 0"
            }
        }
    }
}

impl Attempt {
    pub async fn failed(mut self) -> Result<(), DbErr> {
        self.settle(Settle::Failed, Settle::Failed).await
    }

    /// The secret was right: not a failure on the IP, and the identifier's
    /// failures are forgiven.
    pub async fn succeeded(mut self) -> Result<(), DbErr> {
        self.settle(Settle::Forgiven, Settle::Uncounted).await
    }

    /// Refused by a limit: counted on the client IP only.
    pub async fn refused(mut self) -> Result<(), DbErr> {
        self.settle(Settle::Uncounted, Settle::Failed).await
    }

    /// Not judged at all (the hashing queue was full, say): uncounted.
    pub async fn withdraw(mut self) -> Result<(), DbErr> {
        self.settle(Settle::Uncounted, Settle::Uncounted).await
    }

    async fn settle(&mut self, identifier: Settle, ip: Settle) -> Result<(), DbErr> {
        self.settled = true;
        settle(self.db.alone(), &self.identifier_key, identifier).await?;
        settle(self.db.alone(), &self.ip_key, ip).await
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (db, identifier, ip) = (
            self.db.clone(),
            std::mem::take(&mut self.identifier_key),
            std::mem::take(&mut self.ip_key),
        );
        runtime.spawn(async move {
            for key in [identifier, ip] {
                if let Err(e) = settle(db.alone(), &key, Settle::Failed).await {
                    tracing::warn!(error = %e, "could not settle a sign-in attempt");
                }
            }
        });
    }
}

async fn settle(conn: &impl ConnectionTrait, key: &str, how: Settle) -> Result<(), DbErr> {
    let stmt = statement(
        conn.get_database_backend(),
        how.sql(),
        [Value::from(key.to_owned())],
    );
    conn.execute_raw(stmt).await?;
    Ok(())
}
