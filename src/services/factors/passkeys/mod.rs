//! Passkeys (API.md §8.4), with `webauthn-rs` doing every check of the
//! WebAuthn ceremonies (CBOR, COSE keys, signatures, origins, RP id hash,
//! user verification, the sign counter); this module keeps the state
//! between the two halves of a ceremony in the database and applies the
//! account rules: fresh sessions, at most `MAX_PER_USER`, one owner per
//! credential, a sign-in like `login`.
//!
//! Registration asks for a discoverable credential (a passkey the browser
//! can offer with no address typed) and user verification. Sign-in is
//! always discoverable: `beginPasskeyLogin(email)` binds the ceremony to
//! that address's account but lists no credentials, so its answer is the
//! same for any address, and a credential of another account fails at
//! `finishPasskeyLogin`.

mod ceremony;
mod login;

pub use login::{begin_login, finish_login};

use entity::{passkey, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::prelude::{Passkey, RegisterPublicKeyCredential};

use crate::auth::viewer::Authenticated;
use crate::db::{now, sql_err};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::lifecycle;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::{require_fresh, require_session};
use crate::services::shared::mail::WriteTxn;
use ceremony::Purpose;

/// Passkeys one account may hold.
pub const MAX_PER_USER: usize = 10;
const NAME_MAX: usize = 100;

/// The viewer's passkeys, oldest first.
#[tracing::instrument(skip_all)]
pub async fn list(app: &AppContext, user_id: Uuid) -> AppResult<Vec<passkey::Model>> {
    let mine = passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .order_by_asc(passkey::Column::CreatedAt);
    Ok(app.db.read().all(mine).await?)
}

fn stored(row: &passkey::Model) -> AppResult<Passkey> {
    serde_json::from_str(&row.credential).map_err(AppError::internal)
}

/// Starts adding a passkey (fresh session): the options for
/// `navigator.credentials.create`, excluding the ones already held.
#[tracing::instrument(skip_all)]
pub async fn begin_registration(app: &AppContext, who: &Authenticated) -> AppResult<(Uuid, Value)> {
    let webauthn = app.passkeys.webauthn()?;
    require_fresh(app, who)?;
    let held = list(app, who.user.id).await?;
    if held.len() >= MAX_PER_USER {
        return Err(too_many());
    }
    let exclude = held
        .iter()
        .map(|row| stored(row).map(|p| p.cred_id().clone()))
        .collect::<AppResult<Vec<_>>>()?;
    let user = &who.user;
    let display = user.username.clone().unwrap_or_else(|| user.email.clone());
    let (options, state) = webauthn
        .start_passkey_registration(user.id, &user.email, &display, Some(exclude))
        .map_err(AppError::internal)?;
    let mut options = serde_json::to_value(options.public_key).map_err(AppError::internal)?;
    // A passkey the browser can offer without an address: discoverable,
    // and verified (webauthn-rs requires the verification either way).
    options["authenticatorSelection"]["residentKey"] = "required".into();
    options["authenticatorSelection"]["requireResidentKey"] = true.into();
    let id = ceremony::store(app, Some(user.id), Purpose::Register, &state, None).await?;
    Ok((id, options))
}

/// Finishes adding a passkey with the browser's credential.
#[tracing::instrument(skip_all)]
pub async fn finish_registration(
    app: &AppContext,
    who: &Authenticated,
    challenge_id: Uuid,
    credential: Value,
    name: Option<String>,
    client: &ClientInfo,
) -> AppResult<passkey::Model> {
    let webauthn = app.passkeys.webauthn()?;
    require_fresh(app, who)?;
    let name = check_name(name.as_deref().unwrap_or("Passkey"))?;
    let credential: RegisterPublicKeyCredential = serde_json::from_value(credential)
        .map_err(|_| AppError::field("credential", "is not a WebAuthn credential"))?;
    let ceremony::Taken { owner, state, .. } = ceremony::take(app, challenge_id, Purpose::Register)
        .await?
        .ok_or_else(|| AppError::field("challengeId", "has expired or was used"))?;
    if owner != Some(who.user.id) {
        return Err(AppError::field("challengeId", "has expired or was used"));
    }
    let passkey = webauthn
        .finish_passkey_registration(&credential, &state)
        .map_err(|_| AppError::field("credential", "could not be verified"))?;
    let now = now();
    let txn = WriteTxn::begin(app).await?;
    let held = passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(who.user.id))
        .all(&*txn)
        .await?;
    if held.len() >= MAX_PER_USER {
        return Err(too_many());
    }
    let row = passkey::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(who.user.id),
        name: Set(name),
        credential_id: Set(ceremony::credential_key(passkey.cred_id())),
        credential: Set(serde_json::to_string(&passkey).map_err(AppError::internal)?),
        created_at: Set(now),
        last_used_at: Set(None),
    };
    let row = match row.insert(&*txn).await {
        Ok(row) => row,
        Err(e) if sql_err(&e).is_some() => {
            return Err(AppError::field("credential", "is already registered"));
        }
        Err(e) => return Err(e.into()),
    };
    let change = lifecycle::Change::by_owner(lifecycle::Kind::Passkey, Some(&row.name), client);
    lifecycle::added(&txn, &who.user, change).await?;
    txn.commit().await?;
    Ok(row)
}

/// Renames one of the viewer's passkeys: a change to a credential, so a
/// session's request only (API.md §8.8).
#[tracing::instrument(skip_all)]
pub async fn rename(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    name: &str,
) -> AppResult<passkey::Model> {
    require_session(who)?;
    let user = &who.user;
    let name = check_name(name)?;
    let row = own(app, user, id).await?;
    let mut active: passkey::ActiveModel = row.into();
    active.name = Set(name);
    Ok(active.update(app.db.alone()).await?)
}

/// Deletes one of the viewer's passkeys (fresh session).
#[tracing::instrument(skip_all)]
pub async fn delete(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    app.passkeys.webauthn()?;
    require_fresh(app, who)?;
    let txn = WriteTxn::begin(app).await?;
    let Some(row) = passkey::Entity::find_by_id(id)
        .filter(passkey::Column::UserId.eq(who.user.id))
        .one(&*txn)
        .await?
    else {
        return Err(AppError::NotFound);
    };
    let deleted = passkey::Entity::delete_by_id(row.id).exec(&*txn).await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    let change = lifecycle::Change::by_owner(lifecycle::Kind::Passkey, Some(&row.name), client);
    lifecycle::removed(&txn, &who.user, change).await?;
    txn.commit().await?;
    Ok(())
}

/// One of `user`'s passkeys; another's is `NOT_FOUND`, as a missing one.
async fn own(app: &AppContext, user: &user::Model, id: Uuid) -> AppResult<passkey::Model> {
    app.db
        .read()
        .one(passkey::Entity::find_by_id(id))
        .await?
        .filter(|row| row.user_id == user.id)
        .ok_or(AppError::NotFound)
}

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(AppError::field(
            "name",
            &format!("must be 1 to {NAME_MAX} characters"),
        ));
    }
    Ok(name.to_owned())
}

fn too_many() -> AppError {
    AppError::field(
        "credential",
        &format!("an account holds at most {MAX_PER_USER} passkeys"),
    )
}
