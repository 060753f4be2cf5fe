//! The clients of the OAuth provider (API.md §9.3): staff manage them in a
//! session, never with an API token; creating, changing and re-keying need
//! a fresh one, and each change is an event of the acting staff user. The
//! operator's command line and dynamic registration (RFC 7591) make them
//! too, without a user and so without an event. A confidential client's
//! secret is shown once and stored only as its SHA-256 (it is 256 random
//! bits: a fast hash suffices).

mod input;

pub use input::{ClientChanges, NewClient, RegistrationError, all_scope_names};

use entity::oauth_client::{self, Column, Entity, Model};
use entity::{oauth_authorization, oauth_grant, session};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Select,
};
use uuid::Uuid;

use crate::auth::tokens::{constant_time_eq, random_token, sha256_hex};
use crate::auth::viewer::Authenticated;
use crate::db::{Db, now};
use crate::domain::SecurityEventType as Kind;
use crate::domain::oauth::{ClientType, Scopes};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::sessions::revoke_sessions;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::{require_fresh, require_session};
use crate::services::shared::pagination::{Ordering, newest_first};
use crate::services::shared::security_events as events;
use input::{Valid, checked_changes, checked_new, registered, registration_error};

/// The staff user acting, and where from: each change is their event.
type Acting<'a> = Option<(Uuid, &'a ClientInfo)>;

// ---- reading a client (for the provider's endpoints too) ------------------

/// The client `id`, or `None`.
#[tracing::instrument(skip_all)]
pub async fn find(app: &AppContext, id: Uuid) -> AppResult<Option<Model>> {
    Ok(app.db.read().one(Entity::find_by_id(id)).await?)
}

pub fn client_type(client: &Model) -> ClientType {
    ClientType::stored(&client.client_type)
}

pub fn scopes(client: &Model) -> Scopes {
    Scopes::stored(&client.allowed_scopes)
}

pub fn redirect_uris(client: &Model) -> Vec<String> {
    stored_uris(&client.redirect_uris)
}

pub fn post_logout_redirect_uris(client: &Model) -> Vec<String> {
    stored_uris(&client.post_logout_redirect_uris)
}

fn stored_uris(stored: &str) -> Vec<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// Whether `presented` is the secret of this confidential client, compared
/// in constant time; never for a public client or one without a secret.
pub fn secret_matches(client: &Model, presented: &str) -> bool {
    match (&client.secret_hash, client_type(client)) {
        (Some(hash), ClientType::Confidential) => constant_time_eq(&sha256_hex(presented), hash),
        _ => false,
    }
}

/// Staff in a session: an API token manages no client (API.md §8.8, §9.3).
fn staff_session(who: &Authenticated) -> AppResult<()> {
    require_session(who)?;
    if who.user.is_staff {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Staff in a fresh session (API.md §8.1).
fn fresh_staff(app: &AppContext, who: &Authenticated) -> AppResult<()> {
    staff_session(who)?;
    require_fresh(app, who)
}

async fn existing(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Model> {
    Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// A row deleted between its read and its update is gone, not a fault.
fn gone(e: DbErr) -> AppError {
    match e {
        DbErr::RecordNotUpdated => AppError::NotFound,
        e => e.into(),
    }
}

// ---- staff (GraphQL) -------------------------------------------------------

/// `oauthClients`: every client, unordered (see [`ordering`]).
pub fn listed(who: &Authenticated) -> AppResult<Select<Entity>> {
    staff_session(who)?;
    Ok(Entity::find())
}

/// Newest first.
pub fn ordering() -> Ordering<Entity> {
    newest_first!(Entity)
}

/// `oauthClient`: the client, or `None`.
#[tracing::instrument(skip_all)]
pub async fn get(app: &AppContext, who: &Authenticated, id: Uuid) -> AppResult<Option<Model>> {
    staff_session(who)?;
    find(app, id).await
}

/// `createOAuthClient`: the client and, for a confidential one, its secret
/// (shown once).
#[tracing::instrument(skip_all)]
pub async fn create(
    app: &AppContext,
    who: &Authenticated,
    new: NewClient,
    from: &ClientInfo,
) -> AppResult<(Model, Option<String>)> {
    fresh_staff(app, who)?;
    let valid = checked_new(&new)?;
    insert(&app.db, valid, false, Some((who.user.id, from))).await
}

/// `updateOAuthClient`: the fields given, for authorization and token
/// requests from then on. A dynamically registered client always asks
/// consent.
#[tracing::instrument(skip_all)]
pub async fn update(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    changes: ClientChanges,
    from: &ClientInfo,
) -> AppResult<Model> {
    fresh_staff(app, who)?;
    let changed = checked_changes(&changes)?;
    let txn = app.db.write().await?;
    let current = existing(&txn, id).await?;
    if current.dynamic && changes.skip_consent == Some(true) {
        return Err(AppError::field(
            "skipConsent",
            "a dynamically registered client always asks consent",
        ));
    }
    let mut row: oauth_client::ActiveModel = current.into();
    if let Some(name) = changed.name {
        row.name = Set(name);
    }
    if let Some(uris) = changed.redirect_uris {
        row.redirect_uris = Set(uris);
    }
    if let Some(uris) = changed.post_logout_redirect_uris {
        row.post_logout_redirect_uris = Set(uris);
    }
    if let Some(scopes) = changed.allowed_scopes {
        row.allowed_scopes = Set(scopes);
    }
    if let Some(skip) = changes.skip_consent {
        row.skip_consent = Set(skip);
    }
    row.updated_at = Set(now());
    let updated = row.update(&txn).await.map_err(gone)?;
    events::record(&txn, who.user.id, Kind::OauthClientUpdated, from, None).await?;
    txn.commit().await?;
    Ok(updated)
}

/// `rotateOAuthClientSecret`: a new secret (shown once); the old one stops
/// working at once. A public client has none: `BAD_USER_INPUT`.
#[tracing::instrument(skip_all)]
pub async fn rotate_secret(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    from: &ClientInfo,
) -> AppResult<(Model, String)> {
    fresh_staff(app, who)?;
    let secret = random_token();
    let now = now();
    let txn = app.db.write().await?;
    let current = existing(&txn, id).await?;
    if client_type(&current) != ClientType::Confidential {
        return Err(AppError::field("id", "a public client has no secret"));
    }
    let mut row: oauth_client::ActiveModel = current.into();
    row.secret_hash = Set(Some(sha256_hex(&secret)));
    row.secret_created_at = Set(Some(now));
    row.updated_at = Set(now);
    let rotated = row.update(&txn).await.map_err(gone)?;
    events::record(
        &txn,
        who.user.id,
        Kind::OauthClientSecretRotated,
        from,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok((rotated, secret))
}

/// `deleteOAuthClient` (staff; not fresh).
#[tracing::instrument(skip_all)]
pub async fn delete(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    from: &ClientInfo,
) -> AppResult<()> {
    staff_session(who)?;
    remove(&app.db, id, Some((who.user.id, from))).await
}

// ---- the operator (command line) and dynamic registration -----------------

/// Every client, newest first (`authql oauth-client list`).
#[tracing::instrument(skip_all)]
pub async fn all(db: &Db) -> AppResult<Vec<Model>> {
    let newest_first = Entity::find()
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id);
    Ok(db.read().all(newest_first).await?)
}

/// `authql oauth-client create`: `create` without a user (and so without
/// an event); the same rules.
#[tracing::instrument(skip_all)]
pub async fn create_by_operator(db: &Db, new: NewClient) -> AppResult<(Model, Option<String>)> {
    let valid = checked_new(&new)?;
    insert(db, valid, false, None).await
}

/// `authql oauth-client delete`: `delete` without a user; `NOT_FOUND` for
/// an unknown id.
#[tracing::instrument(skip_all)]
pub async fn delete_by_operator(db: &Db, id: Uuid) -> AppResult<()> {
    remove(db, id, None).await
}

/// `POST /oauth/register` (RFC 7591): a public client that always asks
/// consent, under `name` or else the host of its first redirect URI, for
/// the space-separated `scope` or else all four; no event (no user).
/// `Ok(Err(_))` is the registrant's error to answer; `Err(_)` the server's.
#[tracing::instrument(skip_all)]
pub async fn create_dynamic(
    app: &AppContext,
    name: Option<&str>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    scope: Option<&str>,
) -> AppResult<Result<Model, RegistrationError>> {
    let new = registered(name, redirect_uris, post_logout_redirect_uris, scope);
    let valid = match checked_new(&new) {
        Ok(valid) => valid,
        Err(errors) => return Ok(Err(registration_error(&errors))),
    };
    let (made, _) = insert(&app.db, valid, true, None).await?;
    Ok(Ok(made))
}

// ---- writing ---------------------------------------------------------------

/// Stores a checked client, with a new secret if it is confidential, and
/// records the event of the staff user acting, if any.
async fn insert(
    db: &Db,
    valid: Valid,
    dynamic: bool,
    acting: Acting<'_>,
) -> AppResult<(Model, Option<String>)> {
    let now = now();
    let secret = (valid.client_type == ClientType::Confidential).then(random_token);
    let row = oauth_client::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(valid.name),
        client_type: Set(valid.client_type.as_str().to_owned()),
        secret_hash: Set(secret.as_deref().map(sha256_hex)),
        secret_created_at: Set(secret.as_ref().map(|_| now)),
        redirect_uris: Set(valid.redirect_uris),
        post_logout_redirect_uris: Set(valid.post_logout_redirect_uris),
        allowed_scopes: Set(valid.allowed_scopes),
        skip_consent: Set(valid.skip_consent),
        dynamic: Set(dynamic),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let txn = db.write().await?;
    let made = row.insert(&txn).await?;
    if let Some((user_id, from)) = acting {
        events::record(&txn, user_id, Kind::OauthClientCreated, from, None).await?;
    }
    txn.commit().await?;
    Ok((made, secret))
}

/// Deletes a client with its grants and pending authorizations and codes,
/// and ends every session its tokens belong to, in one transaction: each of
/// its tokens is dead on the next request. No user hears of it: it is the
/// staff user's event alone (API.md §9.3 "Grants").
async fn remove(db: &Db, id: Uuid, acting: Acting<'_>) -> AppResult<()> {
    let now = now();
    let txn = db.write().await?;
    existing(&txn, id).await?;
    // Codes first: deleting their rows waits for a code exchange in flight
    // (it holds its row), so the sessions revoked next include the one it
    // just opened. The foreign keys cascade too; deleting here keeps the
    // order plain.
    oauth_authorization::Entity::delete_many()
        .filter(oauth_authorization::Column::ClientId.eq(id))
        .exec(&txn)
        .await?;
    revoke_sessions(&txn, session::Column::OauthClientId.eq(id), now).await?;
    oauth_grant::Entity::delete_many()
        .filter(oauth_grant::Column::ClientId.eq(id))
        .exec(&txn)
        .await?;
    // Two deletions at once: one wins, the other finds nothing.
    if Entity::delete_by_id(id).exec(&txn).await?.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    if let Some((user_id, from)) = acting {
        events::record(&txn, user_id, Kind::OauthClientDeleted, from, None).await?;
    }
    txn.commit().await?;
    Ok(())
}
