//! Making a link between an identity and an account (API.md §9.1): the
//! row, `IDENTITY_LINKED` and the notice, and rule 3's conditions for a
//! link by email — checked when a sign-in is begun and again when
//! `verifyOtp` completes one that waited for the account's second factor.

use chrono::{DateTime, Utc};
use entity::{identity, social_code, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use crate::auth::assurance::Method;
use crate::db::{now, sql_err};
use crate::domain::Email;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::security_events::{self as events, How};

/// How a provider sign-in is recorded: `amr: ["fed"]` and the provider.
pub fn how(provider: &str) -> How {
    How {
        amr: Some(Method::Fed.as_str().to_owned()),
        provider: Some(provider.to_owned()),
        ..How::default()
    }
}

/// Links the identity `code` proved to `user` in `txn`, recording
/// `IDENTITY_LINKED`; `notify`: and mails the account a notice naming the
/// provider.
pub async fn link(
    txn: &WriteTxn,
    app: &AppContext,
    user: &user::Model,
    code: &social_code::Model,
    client: &ClientInfo,
    notify: bool,
) -> AppResult<identity::Model> {
    let made = insert(txn, user, code).await?;
    announce(txn, app, user, code, client, notify).await?;
    Ok(made)
}

async fn insert(
    txn: &WriteTxn,
    user: &user::Model,
    code: &social_code::Model,
) -> Result<identity::Model, DbErr> {
    let now = now();
    identity::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        provider: Set(code.provider.clone()),
        issuer: Set(code.issuer.clone()),
        subject: Set(code.subject.clone()),
        email: Set(code.email.clone()),
        email_verified: Set(code.email_verified),
        created_at: Set(now),
        last_used_at: Set(Some(now)),
    }
    .insert(&**txn)
    .await
}

/// `IDENTITY_LINKED`, and with `notify` the notice naming the provider.
async fn announce(
    txn: &WriteTxn,
    app: &AppContext,
    user: &user::Model,
    code: &social_code::Model,
    client: &ClientInfo,
    notify: bool,
) -> AppResult<()> {
    let provider = app.settings.social.display_name(&code.provider);
    let how = How {
        provider: Some(code.provider.clone()),
        ..How::default()
    };
    events::record_how(&**txn, user.id, Kind::IdentityLinked, client, None, how).await?;
    if notify {
        txn.notify(user, &format!("a sign-in with {provider} was linked"))
            .await?;
    }
    Ok(())
}

/// Rule 3: an identity joins the account that has its verified email only
/// if the account is active, its address verified, and it has no identity
/// of this provider yet (an address reassigned at the provider must not
/// inherit the account).
pub async fn may_join<C: ConnectionTrait>(
    db: &C,
    user: &user::Model,
    code: &social_code::Model,
) -> AppResult<bool> {
    let has_one = identity::Entity::find()
        .filter(identity::Column::UserId.eq(user.id))
        .filter(identity::Column::Provider.eq(code.provider.clone()))
        .count(db)
        .await?
        > 0;
    Ok(user.is_active && user.email_verified && !has_one)
}

/// Keeps a used social code (which holds a pending link's identity) until
/// `at`, past the exchange code's own minute: maintenance purges it then.
pub async fn keep_until(txn: &WriteTxn, code: Uuid, at: DateTime<Utc>) -> AppResult<()> {
    social_code::Entity::update_many()
        .col_expr(social_code::Column::ExpiresAt, Expr::value(at))
        .filter(social_code::Column::Id.eq(code))
        .filter(social_code::Column::ExpiresAt.lt(at))
        .exec(&**txn)
        .await?;
    Ok(())
}

/// The link a sign-in waited for, made in the transaction that completes
/// it. Everything that allowed it is checked again, as the account, the
/// provider's standing or the identity may have changed while the code was
/// typed: the provider still trusted, the verified address still the
/// account's own (an address changed away from a lost mailbox must not let
/// its new holder in), and rule 3. Otherwise `IDENTITY_LINK_REQUIRED`, and
/// nothing is signed in.
pub async fn complete(
    txn: &WriteTxn,
    app: &AppContext,
    user: &user::Model,
    code: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    let Some(code) = social_code::Entity::find_by_id(code).one(&**txn).await? else {
        return Err(AppError::IdentityLinkRequired);
    };
    let taken = identity::Entity::find()
        .filter(identity::Column::Issuer.eq(code.issuer.clone()))
        .filter(identity::Column::Subject.eq(code.subject.clone()))
        .one(&**txn)
        .await?;
    match taken {
        // Linked to this account meanwhile (another tab): nothing to add.
        Some(found) if found.user_id == user.id => return Ok(()),
        Some(_) => return Err(AppError::IdentityLinkRequired),
        None => {}
    }
    let same_address = code.email_verified
        && code
            .email
            .as_deref()
            .and_then(|e| Email::parse(e).ok())
            .is_some_and(|e| e.key() == user.email_key);
    let trusted = app.settings.social.is_trusted(&code.provider);
    if !(trusted && same_address && may_join(&**txn, user, &code).await?) {
        return Err(AppError::IdentityLinkRequired);
    }
    match insert(txn, user, &code).await {
        Ok(_) => announce(txn, app, user, &code, client, true).await,
        // Linked to another account at the same moment (the unique
        // (issuer, subject) index).
        Err(e) if sql_err(&e).is_some() => Err(AppError::IdentityLinkRequired),
        Err(e) => Err(e.into()),
    }
}
