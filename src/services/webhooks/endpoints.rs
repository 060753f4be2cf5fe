//! Managing webhook endpoints (API.md §11.1): staff only; creating,
//! changing and rotating need a fresh session. The secret is shown once,
//! sealed at rest, and during a rotation's overlap the previous one signs
//! too. Every change is an event of the acting staff user.

use chrono::{DateTime, Utc};
use entity::webhook_delivery;
use entity::webhook_endpoint::{self, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use url::Url;
use uuid::Uuid;

use crate::auth::sealed;
use crate::auth::viewer::Authenticated;
use crate::config::AppEnv;
use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::domain::webhook as catalogue;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_fresh;
use crate::services::shared::security_events as events;
use crate::webhook::{sender, signature};

const SEALED_PURPOSE: &str = "webhook-secret";
const MAX_ENDPOINTS: u64 = 50;
const MAX_URL_CHARS: usize = 2048;
const MAX_DESCRIPTION_CHARS: usize = 200;
const MAX_OVERLAP_SECS: i64 = 604_800;

/// What `createWebhookEndpoint` / `updateWebhookEndpoint` were given.
#[derive(Debug, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// An endpoint's secrets, newest first, for signing.
pub fn signing_keys(app: &AppContext, endpoint: &Model, now: DateTime<Utc>) -> Vec<Vec<u8>> {
    let secret = app.settings.secret_bytes();
    let open = |sealed_secret: &str| {
        sealed::open(
            secret,
            SEALED_PURPOSE,
            endpoint.id.as_bytes(),
            sealed_secret,
        )
        .and_then(|s| String::from_utf8(s).ok())
        .and_then(|s| signature::key(&s, 1, 64))
    };
    let mut keys: Vec<Vec<u8>> = open(&endpoint.secret).into_iter().collect();
    if let (Some(previous), Some(until)) = (
        &endpoint.previous_secret,
        endpoint.previous_secret_expires_at,
    ) && until > now
    {
        keys.extend(open(previous));
    }
    keys
}

fn seal(app: &AppContext, id: Uuid, secret: &str) -> String {
    sealed::seal(
        app.settings.secret_bytes(),
        SEALED_PURPOSE,
        id.as_bytes(),
        secret.as_bytes(),
    )
}

async fn checked_url(app: &AppContext, raw: &str) -> AppResult<String> {
    let refuse = |why: &str| AppError::field("url", why);
    let url = Url::parse(raw).map_err(|_| refuse("must be an absolute URL"))?;
    // The stored (serialised) form: percent-encoding and punycode grow it.
    if raw.chars().count() > MAX_URL_CHARS || url.as_str().len() > MAX_URL_CHARS {
        return Err(refuse("must be at most 2048 characters"));
    }
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => app.settings.app_env != AppEnv::Production,
        _ => false,
    };
    if !scheme_ok {
        return Err(refuse("must be https:// (http:// outside production)"));
    }
    if !url.username().is_empty() || url.password().is_some() || raw.contains('#') {
        return Err(refuse("must have no user info and no fragment"));
    }
    if !app.settings.webhooks.allow_private && !sender::allowed_target(&url).await {
        return Err(refuse(
            "must not reach a loopback, private or link-local address",
        ));
    }
    Ok(url.to_string())
}

fn checked_events(events: &[String]) -> AppResult<String> {
    if events.is_empty() || events.len() > 100 || !events.iter().all(|e| catalogue::is_pattern(e)) {
        return Err(AppError::field(
            "events",
            "must name events of webhookEventTypes, a group (security.*, user.*, organization.*) or *",
        ));
    }
    Ok(events.join("\n"))
}

fn checked_description(description: &str) -> AppResult<String> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(AppError::field(
            "description",
            "must be at most 200 characters",
        ));
    }
    Ok(description.to_owned())
}

/// Every endpoint, oldest first.
#[tracing::instrument(skip_all)]
pub async fn list(app: &AppContext) -> AppResult<Vec<Model>> {
    Ok(app
        .db
        .read()
        .all(Entity::find().order_by_asc(Column::CreatedAt))
        .await?)
}

#[tracing::instrument(skip_all)]
pub async fn find(app: &AppContext, id: Uuid) -> AppResult<Option<Model>> {
    Ok(app.db.read().one(Entity::find_by_id(id)).await?)
}

async fn existing(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Model> {
    Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// `createWebhookEndpoint`: the endpoint and its secret (shown once).
#[tracing::instrument(skip_all)]
pub async fn create(
    app: &AppContext,
    who: &Authenticated,
    input: EndpointInput,
    client: &ClientInfo,
) -> AppResult<(Model, String)> {
    require_fresh(app, who)?;
    let url = checked_url(app, input.url.as_deref().unwrap_or_default()).await?;
    let events = checked_events(input.events.as_deref().unwrap_or_default())?;
    let description = checked_description(input.description.as_deref().unwrap_or_default())?;
    let now = now();
    let id = Uuid::now_v7();
    let secret = signature::generate();
    let txn = app.db.write().await?;
    if Entity::find().count(&txn).await? >= MAX_ENDPOINTS {
        return Err(AppError::field("url", "at most 50 endpoints"));
    }
    let endpoint = webhook_endpoint::ActiveModel {
        id: Set(id),
        url: Set(url),
        description: Set(description),
        events: Set(events),
        enabled: Set(input.enabled.unwrap_or(true)),
        secret: Set(seal(app, id, &secret)),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    events::record(
        &txn,
        who.user.id,
        Kind::WebhookEndpointCreated,
        client,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok((endpoint, secret))
}

/// `updateWebhookEndpoint`: the fields given; later attempts of pending
/// deliveries go to the new URL.
#[tracing::instrument(skip_all)]
pub async fn update(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    input: EndpointInput,
    client: &ClientInfo,
) -> AppResult<Model> {
    require_fresh(app, who)?;
    let url = match input.url.as_deref() {
        Some(raw) => Some(checked_url(app, raw).await?),
        None => None,
    };
    let events = input.events.as_deref().map(checked_events).transpose()?;
    let description = input
        .description
        .as_deref()
        .map(checked_description)
        .transpose()?;
    let txn = app.db.write().await?;
    let mut endpoint: webhook_endpoint::ActiveModel = existing(&txn, id).await?.into();
    if let Some(url) = url {
        endpoint.url = Set(url);
    }
    if let Some(events) = events {
        endpoint.events = Set(events);
    }
    if let Some(description) = description {
        endpoint.description = Set(description);
    }
    if let Some(enabled) = input.enabled {
        endpoint.enabled = Set(enabled);
    }
    endpoint.updated_at = Set(now());
    let endpoint = endpoint.update(&txn).await?;
    events::record(
        &txn,
        who.user.id,
        Kind::WebhookEndpointUpdated,
        client,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(endpoint)
}

/// `rotateWebhookSecret`: a new secret; the one it replaces signs too for
/// `overlap_secs` (0: dropped at once). A rotation during an overlap drops
/// the older of the two at once.
#[tracing::instrument(skip_all)]
pub async fn rotate(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    overlap_secs: i64,
    client: &ClientInfo,
) -> AppResult<(Model, String)> {
    require_fresh(app, who)?;
    if !(0..=MAX_OVERLAP_SECS).contains(&overlap_secs) {
        return Err(AppError::field("overlapSeconds", "must be 0..604800"));
    }
    let now = now();
    let secret = signature::generate();
    let txn = app.db.write().await?;
    let current = existing(&txn, id).await?;
    let keep = overlap_secs > 0;
    let mut endpoint: webhook_endpoint::ActiveModel = current.clone().into();
    endpoint.secret = Set(seal(app, id, &secret));
    endpoint.previous_secret = Set(keep.then(|| current.secret.clone()));
    endpoint.previous_secret_expires_at =
        Set(keep.then(|| now + chrono::Duration::seconds(overlap_secs)));
    endpoint.updated_at = Set(now);
    let endpoint = endpoint.update(&txn).await?;
    events::record(&txn, who.user.id, Kind::WebhookSecretRotated, client, None).await?;
    txn.commit().await?;
    Ok((endpoint, secret))
}

/// `deleteWebhookEndpoint`: the endpoint and its deliveries (no further
/// attempt is made).
#[tracing::instrument(skip_all)]
pub async fn delete(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    let txn = app.db.write().await?;
    existing(&txn, id).await?;
    delete_deliveries(&txn, id).await?;
    Entity::delete_by_id(id).exec(&txn).await?;
    events::record(
        &txn,
        who.user.id,
        Kind::WebhookEndpointDeleted,
        client,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

async fn delete_deliveries(conn: &impl ConnectionTrait, endpoint_id: Uuid) -> Result<(), DbErr> {
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id))
        .exec(conn)
        .await
        .map(drop)
}
