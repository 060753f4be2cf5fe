//! The durable outbox and its worker.
//!
//! Delivery is at least once: a row is marked sent only after the transport
//! accepted it, so a crash in between can repeat a message (with the same
//! `Message-ID`) but never drop one. Rows are claimed with a lease, portably
//! (SQLite has no `FOR UPDATE SKIP LOCKED`), so several instances never
//! send the same row at the same time; a dead worker's lease simply expires.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::email_outbox::{self, Column};
use lettre::message::Mailbox;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use super::templates::Email;
use super::transport::{Outgoing, Transport};
use crate::config::Settings;
use crate::db::Alone;
use crate::db::now;
use crate::metrics::Metrics;

/// How long a claimed row belongs to its worker. Short (API.md §8.10):
/// mail a dead process had claimed is sent by a live one within a poll of
/// the lease's end. Each row's lease is renewed just before its send, and
/// a send is cut at `SEND_DEADLINE`, so a slow batch is never claimed twice.
const LEASE: Duration = Duration::from_secs(30);
/// The longest one send may take (lettre's own timeout is per SMTP step).
const SEND_DEADLINE: Duration = Duration::from_secs(20);
const BATCH: u64 = 10;
/// When nothing wakes the worker, it still looks for due rows this often
/// (retries, and rows written by other instances).
const POLL: Duration = Duration::from_secs(1);
const MAX_BACKOFF_SECS: i64 = 600;

/// Writes a message to `to` into the outbox, in the caller's transaction.
/// Budgets are the caller's business (`services::mail`).
pub async fn insert(
    conn: &impl ConnectionTrait,
    to: &str,
    email: Email,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    email_outbox::Entity::insert(email_outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        to_address: Set(to.to_owned()),
        subject: Set(email.subject),
        text_body: Set(email.text),
        html_body: Set(email.html),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        sent_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        urgent: Set(email.urgent),
        dead_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The delivering side: one per process.
pub struct Outbox {
    db: Alone,
    transport: Transport,
    from: Mailbox,
    message_id_domain: String,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    max_attempts: i32,
}

impl Outbox {
    pub fn new(
        db: Alone,
        settings: &Settings,
        wake: Arc<Notify>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Outbox> {
        let from: Mailbox = settings
            .email_from
            .parse()
            .map_err(|e| anyhow::anyhow!("EMAIL_FROM {:?}: {e}", settings.email_from))?;
        let message_id_domain = from.email.domain().to_owned();
        Ok(Outbox {
            db,
            transport: Transport::from_config(&settings.email)?,
            from,
            message_id_domain,
            wake,
            metrics,
            max_attempts: i32::try_from(settings.mail_max_attempts).unwrap_or(i32::MAX),
        })
    }

    /// Delivers until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let delivered = match self.deliver_due().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: could not claim messages");
                    0
                }
            };
            if *stop.borrow() {
                return;
            }
            if delivered == 0 {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }

    /// Claims and delivers one batch of due messages; returns how many were claimed.
    pub async fn deliver_due(&self) -> Result<usize, DbErr> {
        let mut rows = claim(&self.db, now(), BATCH).await?;
        // RETURNING keeps no order: send in the claim's (codes first).
        rows.sort_by_key(|row| (!row.urgent, row.created_at));
        let claimed = rows.len();
        for row in rows {
            // Still ours, for another lease: a row whose lease ran out while
            // earlier rows were sent may have been claimed by another worker.
            if !renew(&self.db, &row, now()).await? {
                continue;
            }
            let message_id = format!("<{}@{}>", row.id, self.message_id_domain);
            let outgoing = Outgoing {
                message_id: &message_id,
                to: &row.to_address,
                subject: &row.subject,
                text: &row.text_body,
                html: &row.html_body,
            };
            let sent =
                tokio::time::timeout(SEND_DEADLINE, self.transport.send(&self.from, outgoing))
                    .await
                    .unwrap_or_else(|_| {
                        Err(anyhow::anyhow!(
                            "the send took longer than {SEND_DEADLINE:?}"
                        ))
                    });
            match sent {
                Ok(()) => {
                    self.metrics.mail_sent.with_label_values(&["sent"]).inc();
                    finish(&self.db, row.id, Finished::Sent).await?
                }
                Err(e) if row.attempts >= self.max_attempts => {
                    self.metrics.mail_sent.with_label_values(&["dead"]).inc();
                    tracing::error!(
                        outbox_id = %row.id,
                        attempts = row.attempts,
                        error = %e,
                        "outbox: delivery failed MAIL_MAX_ATTEMPTS times; giving up on the message"
                    );
                    finish(&self.db, row.id, Finished::Dead(&e.to_string())).await?;
                }
                Err(e) => {
                    self.metrics.mail_sent.with_label_values(&["failed"]).inc();
                    let retry_at = now() + backoff(row.attempts);
                    tracing::warn!(
                        outbox_id = %row.id,
                        attempts = row.attempts,
                        retry_at = %retry_at,
                        error = %e,
                        "outbox: delivery failed; will retry"
                    );
                    mark_failed(&self.db, row.id, retry_at, &e.to_string()).await?;
                }
            }
        }
        Ok(claimed)
    }
}

/// 2 s, 4 s, 8 s … up to ten minutes between tries: an outage of the mail
/// server delays mail (for `MAIL_MAX_ATTEMPTS` tries, about half an hour at
/// the default 10), then it is given up and logged.
fn backoff(attempts: i32) -> chrono::Duration {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    chrono::Duration::seconds(Ord::min(2i64 << exp, MAX_BACKOFF_SECS))
}

/// Takes a lease on up to `limit` due rows in one statement and returns
/// them. The outer condition repeats the lease test, so on PostgreSQL a
/// concurrent claimer that waited on the row lock re-checks it and skips.
async fn claim(
    db: &Alone,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<email_outbox::Model>, DbErr> {
    let free = Column::LeaseUntil.is_null().or(Column::LeaseUntil.lt(now));
    let due = email_outbox::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::SentAt.is_null())
        .filter(Column::DeadAt.is_null())
        .filter(Column::NextAttemptAt.lte(now))
        .filter(free.clone())
        // Sign-in codes first: someone is waiting at a login form, and a
        // backlog of other mail must not make their code expire.
        .order_by_desc(Column::Urgent)
        .order_by_asc(Column::CreatedAt)
        .limit(limit)
        .into_query();
    let lease_until =
        now + chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::seconds(60));
    email_outbox::Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(lease_until))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.in_subquery(due))
        .filter(Column::SentAt.is_null())
        .filter(free)
        .exec_with_returning(db)
        .await
}

/// Extends the lease of a claimed row, if it is still the lease this
/// worker set (the lease's end is the claim's token: another claim sets
/// another).
async fn renew(db: &Alone, row: &email_outbox::Model, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let Some(held) = row.lease_until else {
        return Ok(false);
    };
    let lease_until =
        now + chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::seconds(30));
    let renewed = email_outbox::Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(lease_until))
        .filter(Column::Id.eq(row.id))
        .filter(Column::SentAt.is_null())
        .filter(Column::LeaseUntil.eq(held))
        .exec(db)
        .await?;
    Ok(renewed.rows_affected == 1)
}

/// How a row's delivery ended.
enum Finished<'a> {
    Sent,
    /// Given up after `MAIL_MAX_ATTEMPTS`, with the last error.
    Dead(&'a str),
}

/// Ends a row's delivery and removes its bodies: once sent (or given up),
/// a mail's live code or link must not wait in the database for anyone who
/// reads it (API.md §8.1). Recipient, subject and times stay.
async fn finish(db: &Alone, id: Uuid, how: Finished<'_>) -> Result<(), DbErr> {
    let (when, error) = match how {
        Finished::Sent => (Column::SentAt, None),
        Finished::Dead(error) => (
            Column::DeadAt,
            Some(error.chars().take(1000).collect::<String>()),
        ),
    };
    email_outbox::Entity::update_many()
        .col_expr(when, Expr::value(now()))
        .col_expr(Column::TextBody, Expr::value(String::new()))
        .col_expr(Column::HtmlBody, Expr::value(String::new()))
        .col_expr(
            Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::LastError, Expr::value(error))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

async fn mark_failed(
    db: &Alone,
    id: Uuid,
    retry_at: DateTime<Utc>,
    error: &str,
) -> Result<(), DbErr> {
    let error: String = error.chars().take(1000).collect();
    email_outbox::Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(retry_at))
        .col_expr(
            Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::LastError, Expr::value(error))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Messages still to be delivered, for the `authql_mail_outbox_pending` gauge.
pub async fn pending(db: &Alone) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    email_outbox::Entity::find()
        .filter(Column::SentAt.is_null())
        .filter(Column::DeadAt.is_null())
        .count(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1).num_seconds(), 2);
        assert_eq!(backoff(2).num_seconds(), 4);
        assert_eq!(backoff(5).num_seconds(), 32);
        assert_eq!(backoff(40).num_seconds(), MAX_BACKOFF_SECS);
    }
}
