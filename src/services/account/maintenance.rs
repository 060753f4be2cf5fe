//! Periodic clean-up of rows that can no longer matter: expired or revoked
//! sessions (their refresh tokens go with them), expired or revoked API
//! tokens, dead one-time codes, stale rate-limit windows, delivered mail,
//! and passkey ceremonies never finished.
//! Every instance may run it; the deletes are idempotent.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{
    api_token, email_outbox, email_sign_in, exchange_code, invitation, oauth_authorization,
    one_time_code, rate_limit, refresh_token, session, social_code, social_flow,
    webauthn_challenge, webhook_delivery,
};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use tokio::sync::watch;

use crate::services::shared::security_events;

/// How often the clean-up runs.
pub const INTERVAL: Duration = Duration::from_secs(600);
/// Revoked rows are kept this long, so a session list or an audit can still
/// explain a recent sign-out.
const KEEP_REVOKED: chrono::Duration = chrono::Duration::days(7);
const KEEP_SENT_MAIL: chrono::Duration = chrono::Duration::days(7);
/// Longer than any sensible rate-limit window.
const KEEP_RATE_WINDOWS: chrono::Duration = chrono::Duration::days(2);

/// What one clean-up removed, by kind.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub api_tokens: u64,
    pub codes: u64,
    pub rate_limits: u64,
    pub mails: u64,
    /// Security events older than `AUDIT_RETENTION`.
    pub events: u64,
    /// Passkey ceremonies begun and never finished.
    pub passkey_challenges: u64,
    /// Expired email sign-in records, exchange codes, social flows and
    /// social codes (API.md §9.1, §9.2).
    pub sign_ins: u64,
    /// Webhook deliveries older than `AUDIT_RETENTION` (API.md §11.2).
    pub deliveries: u64,
    /// Invitations used, revoked or expired a week ago (API.md §10.3).
    pub invitations: u64,
}

#[tracing::instrument(skip_all)]
pub async fn purge(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    audit_retention: Duration,
) -> Result<Purged, DbErr> {
    let old = now - KEEP_REVOKED;
    let refresh_tokens = refresh_token::Entity::delete_many()
        .filter(
            refresh_token::Column::ExpiresAt
                .lt(now)
                .or(refresh_token::Column::UsedAt.lt(old)),
        )
        .exec(db)
        .await?
        .rows_affected;
    let sessions = session::Entity::delete_many()
        .filter(
            session::Column::ExpiresAt
                .lt(now)
                .or(session::Column::RevokedAt.lt(old)),
        )
        .exec(db)
        .await?
        .rows_affected;
    let api_tokens = api_token::Entity::delete_many()
        .filter(
            api_token::Column::ExpiresAt
                .lt(now)
                .or(api_token::Column::RevokedAt.lt(old)),
        )
        .exec(db)
        .await?
        .rows_affected;
    let codes = one_time_code::Entity::delete_many()
        .filter(one_time_code::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    let rate_limits = rate_limit::Entity::delete_many()
        .filter(rate_limit::Column::WindowStart.lt(now - KEEP_RATE_WINDOWS))
        .exec(db)
        .await?
        .rows_affected;
    let mails = email_outbox::Entity::delete_many()
        .filter(
            Condition::any()
                .add(email_outbox::Column::SentAt.lt(now - KEEP_SENT_MAIL))
                .add(email_outbox::Column::DeadAt.lt(now - KEEP_SENT_MAIL)),
        )
        .exec(db)
        .await?
        .rows_affected;
    let events = security_events::purge(db, audit_retention, now).await?;
    let passkey_challenges = webauthn_challenge::Entity::delete_many()
        .filter(webauthn_challenge::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    let sign_ins = email_sign_in::Entity::delete_many()
        .filter(email_sign_in::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected
        + exchange_code::Entity::delete_many()
            .filter(exchange_code::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?
            .rows_affected
        + social_flow::Entity::delete_many()
            .filter(social_flow::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?
            .rows_affected
        + social_code::Entity::delete_many()
            .filter(social_code::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?
            .rows_affected
        // Kept past expiry so that a code presented again still ends what
        // it started (API.md §9.3).
        + oauth_authorization::Entity::delete_many()
            .filter(oauth_authorization::Column::ExpiresAt.lt(old))
            .exec(db)
            .await?
            .rows_affected;
    let keep = chrono::Duration::from_std(audit_retention).unwrap_or(chrono::Duration::MAX);
    let deliveries = webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::CreatedAt.lt(now - keep))
        .exec(db)
        .await?
        .rows_affected;
    // Ended invitations: their addresses are kept no longer than needed.
    let invitations = invitation::Entity::delete_many()
        .filter(
            Condition::any()
                .add(invitation::Column::ExpiresAt.lt(old))
                .add(invitation::Column::AcceptedAt.lt(old))
                .add(invitation::Column::RevokedAt.lt(old)),
        )
        .exec(db)
        .await?
        .rows_affected;
    Ok(Purged {
        sign_ins,
        deliveries,
        invitations,
        events,
        passkey_challenges,
        sessions,
        refresh_tokens,
        api_tokens,
        codes,
        rate_limits,
        mails,
    })
}

/// Runs `purge` every `INTERVAL` until `stop` turns true.
#[tracing::instrument(skip_all)]
pub async fn run(db: crate::db::Db, audit_retention: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        match purge(db.alone(), crate::db::now(), audit_retention).await {
            Ok(purged) if purged != Purged::default() => {
                tracing::info!(?purged, "purged expired rows")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "clean-up failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}
