//! The webhook worker (API.md §11.2): finds due deliveries, takes each
//! with a lease (so one instance at a time attempts it; a crashed attempt
//! is due again when its lease ends, `WEBHOOK_TIMEOUT` + 30 s), and sends
//! each on a task of its own, so a slow or failing endpoint delays no
//! other. Failures retry with doubling backoff and jitter, up to the
//! delivery's limit, then the delivery is `DEAD`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::webhook_delivery::{self, Column, DEAD, Entity, PENDING, SUCCEEDED};
use rand::Rng;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::{Semaphore, watch};

use crate::db::now;
use crate::services::AppContext;
use crate::services::webhooks::endpoints;
use crate::webhook::sender::{Failure, Sender};
use crate::webhook::signature;

/// How often the worker looks for due deliveries.
const POLL: Duration = Duration::from_millis(500);
/// Attempts in flight per instance.
const IN_FLIGHT: usize = 32;
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Runs until `stop` turns true.
#[tracing::instrument(skip_all)]
pub async fn run(app: AppContext, mut stop: watch::Receiver<bool>) {
    let settings = &app.settings.webhooks;
    let sender = match Sender::new(settings.timeout, settings.allow_private) {
        Ok(sender) => sender,
        Err(e) => {
            tracing::error!(error = %e, "webhook sender could not start");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        if let Err(e) = round(&app, &sender, &slots).await {
            tracing::warn!(error = %e, "webhook round failed; will retry");
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => return,
        }
    }
}

fn unleased(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(Column::LeaseUntil.is_null())
        .add(Column::LeaseUntil.lt(now))
}

async fn round(app: &AppContext, sender: &Sender, slots: &Arc<Semaphore>) -> Result<(), DbErr> {
    let free = slots.available_permits();
    if free == 0 {
        return Ok(());
    }
    let now = now();
    let due = Entity::find()
        .filter(Column::Status.eq(PENDING))
        .filter(Column::NextAttemptAt.lte(now))
        .filter(unleased(now))
        .order_by_asc(Column::CreatedAt)
        .limit(free as u64)
        .all(app.db.alone())
        .await?;
    let lease = now
        + chrono::Duration::from_std(app.settings.webhooks.timeout + Duration::from_secs(30))
            .unwrap_or(chrono::Duration::minutes(1));
    for row in due {
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            break;
        };
        let taken = Entity::update_many()
            .col_expr(Column::LeaseUntil, Expr::value(lease))
            .filter(Column::Id.eq(row.id))
            .filter(Column::Status.eq(PENDING))
            .filter(unleased(now))
            .exec(app.db.alone())
            .await?
            .rows_affected
            == 1;
        if !taken {
            continue;
        }
        let (app, sender) = (app.clone(), sender.clone());
        tokio::spawn(async move {
            if let Err(e) = attempt(&app, &sender, row).await {
                tracing::warn!(error = %e, "webhook attempt could not be recorded");
            }
            drop(permit);
        });
    }
    Ok(())
}

/// The wait before retry `k` (k ≥ 1): the interval doubled per retry, at
/// most an hour, plus up to 10 % jitter.
fn backoff(interval: Duration, k: u32) -> Duration {
    let base = interval
        .saturating_mul(2u32.saturating_pow(k.saturating_sub(1).min(30)))
        .min(MAX_BACKOFF);
    base + base.mul_f64(rand::rng().random_range(0.0..0.1))
}

#[tracing::instrument(skip_all, fields(webhook_id = %row.webhook_id))]
async fn attempt(
    app: &AppContext,
    sender: &Sender,
    row: webhook_delivery::Model,
) -> Result<(), DbErr> {
    let Some(endpoint) = endpoints::find(app, row.endpoint_id).await.ok().flatten() else {
        return Ok(());
    };
    let started = now();
    let keys = endpoints::signing_keys(app, &endpoint, started);
    let timestamp = started.timestamp();
    let outcome = if keys.is_empty() {
        tracing::error!("the endpoint's secret does not open (SECRET_KEY changed?)");
        Err(Failure::Transport("no signing key".into()))
    } else {
        let headers = [
            ("webhook-id", row.webhook_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                signature::header(&keys, &row.webhook_id, timestamp, &row.payload),
            ),
        ];
        sender
            .post(&endpoint.url, &headers, row.payload.clone())
            .await
    };
    let attempts = row.attempts + 1;
    let limit = row
        .attempt_limit
        .unwrap_or(app.settings.webhooks.max_attempts as i32);
    let delivered = matches!(outcome, Ok(status) if (200..300).contains(&status));
    let (status, next) = match delivered {
        true => (SUCCEEDED, None),
        false if attempts >= limit => (DEAD, None),
        false => {
            let wait = backoff(app.settings.webhooks.retry_interval, attempts as u32);
            (
                PENDING,
                Some(
                    now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1)),
                ),
            )
        }
    };
    match (&outcome, status) {
        (_, SUCCEEDED) => {}
        (Ok(code), _) => tracing::info!(status = code, attempts, "webhook attempt refused"),
        (Err(why), _) => tracing::info!(reason = ?why, attempts, "webhook attempt failed"),
    }
    if status == DEAD {
        tracing::warn!(attempts, event_type = %row.event_type, "webhook delivery is dead");
    }
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(Column::Attempts, Expr::value(attempts))
        .col_expr(Column::LastAttemptAt, Expr::value(started))
        .col_expr(Column::NextAttemptAt, Expr::value(next))
        .col_expr(
            Column::ResponseStatus,
            Expr::value(outcome.ok().map(i32::from)),
        )
        .col_expr(
            Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Id.eq(row.id))
        .filter(Column::Status.eq(PENDING))
        .exec(app.db.alone())
        .await?;
    Ok(())
}
