//! The webhook worker (API.md §11.2): finds due deliveries, takes each
//! with a lease (so one instance at a time attempts it; a crashed attempt
//! is due again when its lease ends, `WEBHOOK_TIMEOUT` + 30 s), and sends
//! each on a task of its own, so a slow or failing endpoint delays no
//! other. Failures retry with doubling backoff and jitter, up to the
//! delivery's limit, then the delivery is `DEAD`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use entity::webhook_delivery::{self, Column, DEAD, Entity, PENDING, SUCCEEDED};
use rand::Rng;
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::{Semaphore, watch};
use uuid::Uuid;

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
    let in_flight = InFlight::default();
    loop {
        if let Err(e) = round(&app, &sender, &slots, &in_flight).await {
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

/// Attempts in flight to one endpoint: a slow or failing endpoint's
/// backlog never takes every slot (API.md §11.2).
const PER_ENDPOINT: usize = 4;

type InFlight = Arc<Mutex<HashMap<Uuid, usize>>>;

async fn round(
    app: &AppContext,
    sender: &Sender,
    slots: &Arc<Semaphore>,
    in_flight: &InFlight,
) -> Result<(), DbErr> {
    let free = slots.available_permits();
    if free == 0 {
        return Ok(());
    }
    let now = now();
    let due = Entity::find()
        .filter(Column::Status.eq(PENDING))
        .filter(Column::NextAttemptAt.lte(now))
        .filter(unleased(now))
        .order_by_asc(Column::NextAttemptAt)
        .limit((free * PER_ENDPOINT) as u64)
        .all(app.db.alone())
        .await?;
    // Stored to the microsecond on both databases, so the attempt's own
    // writes can name the lease they hold.
    let lease = (now
        + chrono::Duration::from_std(app.settings.webhooks.timeout + Duration::from_secs(30))
            .unwrap_or(chrono::Duration::minutes(1)))
    .trunc_subsecs(6);
    for row in due {
        let busy = in_flight
            .lock()
            .map_or(0, |m| m.get(&row.endpoint_id).copied().unwrap_or(0));
        if busy >= PER_ENDPOINT {
            continue;
        }
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            break;
        };
        let taken = Entity::update_many()
            .col_expr(Column::LeaseUntil, Expr::value(lease))
            .filter(Column::Id.eq(row.id))
            .filter(Column::Status.eq(PENDING))
            .filter(Column::NextAttemptAt.lte(now))
            .filter(unleased(now))
            .exec_with_returning(app.db.alone())
            .await?;
        let Some(row) = taken.into_iter().next() else {
            continue;
        };
        if let Ok(mut m) = in_flight.lock() {
            *m.entry(row.endpoint_id).or_default() += 1;
        }
        let (app, sender, in_flight) = (app.clone(), sender.clone(), in_flight.clone());
        tokio::spawn(async move {
            let endpoint_id = row.endpoint_id;
            if let Err(e) = attempt(&app, &sender, row, lease).await {
                tracing::warn!(error = %e, "webhook attempt could not be recorded");
            }
            if let Ok(mut m) = in_flight.lock()
                && let Some(n) = m.get_mut(&endpoint_id)
            {
                *n -= 1;
                if *n == 0 {
                    m.remove(&endpoint_id);
                }
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
        .saturating_mul(2u32.saturating_pow(Ord::min(k.saturating_sub(1), 30)))
        .min(MAX_BACKOFF);
    base + base.mul_f64(rand::rng().random_range(0.0..0.1))
}

#[tracing::instrument(skip_all, fields(webhook_id = %row.webhook_id))]
async fn attempt(
    app: &AppContext,
    sender: &Sender,
    row: webhook_delivery::Model,
    lease: DateTime<Utc>,
) -> Result<(), DbErr> {
    let endpoint = match endpoints::find(app, row.endpoint_id).await {
        Ok(Some(endpoint)) => endpoint,
        // Deleted while this event committed: no attempt is ever made.
        Ok(None) => {
            Entity::delete_by_id(row.id).exec(app.db.alone()).await?;
            return Ok(());
        }
        Err(_) => return Ok(()),
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
    let delivered = matches!(outcome, Ok(status) if (200..300).contains(&status));
    match &outcome {
        _ if delivered => {}
        Ok(code) => tracing::info!(status = code, attempts, "webhook attempt refused"),
        Err(why) => tracing::info!(reason = ?why, attempts, "webhook attempt failed"),
    }
    // Every write names the lease this attempt holds: a redelivery or
    // another instance never has its state overwritten by a stale attempt,
    // and `DEAD` is judged against the limit as it is now.
    let response_status = outcome.as_ref().ok().map(|s| i32::from(*s));
    let finish = |status: &'static str, next: Option<DateTime<Utc>>| {
        Entity::update_many()
            .col_expr(Column::Status, Expr::value(status))
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .col_expr(Column::LastAttemptAt, Expr::value(started))
            .col_expr(Column::NextAttemptAt, Expr::value(next))
            .col_expr(Column::ResponseStatus, Expr::value(response_status))
            .col_expr(
                Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(Column::Id.eq(row.id))
            .filter(Column::LeaseUntil.eq(lease))
    };
    if delivered {
        finish(SUCCEEDED, None).exec(app.db.alone()).await?;
        return Ok(());
    }
    let max = app.settings.webhooks.max_attempts as i32;
    let spent = Condition::any()
        .add(
            Column::AttemptLimit
                .is_null()
                .and(Expr::col(Column::Attempts).add(1).gte(max)),
        )
        .add(
            Expr::col(Column::Attempts)
                .add(1)
                .gte(Expr::col(Column::AttemptLimit)),
        );
    let dead = finish(DEAD, None)
        .filter(spent)
        .exec(app.db.alone())
        .await?;
    if dead.rows_affected == 1 {
        tracing::warn!(attempts, event_type = %row.event_type, "webhook delivery is dead");
        return Ok(());
    }
    let wait = backoff(app.settings.webhooks.retry_interval, attempts as u32);
    let next = now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
    finish(PENDING, Some(next)).exec(app.db.alone()).await?;
    Ok(())
}
