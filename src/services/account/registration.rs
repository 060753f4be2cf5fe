//! Registration, and superusers made from the command line.

use entity::user;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DbErr, SqlErr};

use crate::db::{Unique, now, sql_err, violates};
use crate::domain::SecurityEventType as Kind;
use crate::domain::{Email, FieldErrors, Gender, Password, Phone, Username};
use crate::error::{AppError, AppResult};
use crate::mail::templates;
use crate::services::AppContext;
use crate::services::account::activation::send_activation;
use crate::services::organizations::invitations;
use crate::services::shared::accounts::{
    ensure_username_free, find_by_email, new_account, parse_name, search_fold,
};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::mail::{Budget, WriteTxn};
use crate::services::shared::rate_limit::{self, Verdict};
use crate::services::shared::security_events as events;
use crate::services::shared::webhook_outbox;

/// `users.username_key`'s unique constraint (migration 1).
const USERNAME: Unique = Unique {
    postgres: "users_username_key_key",
    sqlite: "users.username_key",
};

/// What `register` was given, as typed by the client.
#[derive(Debug, Default)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub confirm_password: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub gender: Option<Gender>,
    pub invitation_token: Option<String>,
}

/// The same for a new and an existing address: nothing to enumerate.
#[derive(Debug)]
pub struct Registered {
    pub email: String,
    pub activation_required: bool,
}

#[tracing::instrument(skip_all)]
pub async fn register(
    app: &AppContext,
    input: Registration,
    client: &ClientInfo,
) -> AppResult<Registered> {
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(&input.email));
    let username = input
        .username
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .and_then(|u| errors.check("username", Username::parse(u)));
    let password = errors.check(
        "password",
        Password::parse(
            &input.password,
            email.as_ref().map(Email::as_str),
            username.as_ref().map(Username::as_str),
        ),
    );
    if input.password != input.confirm_password {
        errors.add("confirmPassword", "does not match the password");
    }
    let phone = input
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .and_then(|p| errors.check("phone", Phone::parse(p)));
    let first_name = input
        .first_name
        .as_deref()
        .and_then(|n| errors.check("firstName", parse_name(n)));
    let last_name = input
        .last_name
        .as_deref()
        .and_then(|n| errors.check("lastName", parse_name(n)));
    errors.into_result()?;
    // Each call costs a hash, a row and a mail to any address: counted per
    // client IP (its /64 for IPv6) before any of that work.
    let verdict = rate_limit::hit(
        app.db.alone(),
        &rate_limit::ip_key("register", &client.ip),
        app.settings.register_rate_limit,
        now(),
    )
    .await?;
    if let Verdict::Limited { retry_after_secs } = verdict {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    let (Some(email), Some(password)) = (email, password) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "validated input is missing"
        )));
    };
    let invitation = invited(app, input.invitation_token.as_deref(), &email).await?;
    if let Some(u) = &username {
        ensure_username_free(app.db.alone(), u, None).await?;
    }
    // Hash before looking the address up, so a known and an unknown address
    // cost the same and answer alike.
    let password_hash = app.hasher.hash(&password).await?;
    let settings = &app.settings;
    let now = now();
    // An invitation's token proved the mailbox: active at once.
    let active_at_once = !settings.require_activation || invitation.is_some();
    let mut new_user = new_account(&email, username.as_ref(), password_hash, now);
    let first_name = first_name.filter(|n| !n.is_empty());
    let last_name = last_name.filter(|n| !n.is_empty());
    new_user.search_fold = Set(search_fold(
        email.as_str(),
        username.as_ref().map(Username::as_str),
        first_name.as_deref(),
        last_name.as_deref(),
    ));
    new_user.first_name = Set(first_name);
    new_user.last_name = Set(last_name);
    new_user.phone = Set(phone.map(|p| p.as_str().to_owned()));
    new_user.gender = Set(input.gender.unwrap_or_default().as_stored().to_owned());
    new_user.is_active = Set(active_at_once);
    new_user.activated_at = Set(active_at_once.then_some(now));
    new_user.email_verified = Set(invitation.is_some());

    let txn = WriteTxn::begin(app).await?;
    let existing = find_by_email(&*txn, &email).await?;
    let outcome = match existing {
        // The token stays live: the owner signs in and accepts it.
        Some(owner) => notify_existing(&txn, app, &owner).await,
        None => match new_user.insert(&*txn).await {
            Ok(created) => {
                events::record(&*txn, created.id, Kind::AccountRegistered, client, None).await?;
                webhook_outbox::user_created(&*txn, &created).await?;
                if let Some(inv) = &invitation {
                    if let Err(refused) =
                        invitations::join(app, &*txn, inv, created.id, client).await
                    {
                        txn.rollback().await;
                        return Err(match refused {
                            invitations::Refused::Failed(e) => e,
                            invitations::Refused::Limit(why) => {
                                AppError::field("invitationToken", why)
                            }
                            invitations::Refused::NotLive => not_live(),
                        });
                    }
                } else if settings.require_activation {
                    send_activation(&txn, app, &created, now).await?;
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    match outcome {
        Ok(()) => txn.commit().await?,
        Err(e) => {
            txn.rollback().await;
            match sql_err(&e) {
                // Lost a race on PostgreSQL, where the transaction does not
                // serialise writers as SQLite's IMMEDIATE does.
                Some(_) if violates(&e, &USERNAME) => {
                    return Err(AppError::field("username", "is already taken"));
                }
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    let txn = WriteTxn::begin(app).await?;
                    if let Some(owner) = find_by_email(&*txn, &email).await? {
                        notify_existing(&txn, app, &owner).await?;
                    }
                    txn.commit().await?;
                }
                _ => return Err(e.into()),
            }
        }
    }
    Ok(Registered {
        email: email.as_str().to_owned(),
        activation_required: settings.require_activation && invitation.is_none(),
    })
}

fn not_live() -> AppError {
    AppError::field(
        "invitationToken",
        "is not a live invitation for this address",
    )
}

/// The live invitation `token` names for `email`: none without a token;
/// a token that is not live or was issued to another address is
/// `BAD_USER_INPUT` (it says nothing about accounts).
async fn invited(
    app: &AppContext,
    token: Option<&str>,
    email: &Email,
) -> AppResult<Option<entity::invitation::Model>> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match invitations::live(app, token).await? {
        Some((inv, _)) if inv.email_key == email.key() => Ok(Some(inv)),
        _ => Err(not_live()),
    }
}

async fn notify_existing(
    txn: &WriteTxn,
    app: &AppContext,
    owner: &user::Model,
) -> Result<(), DbErr> {
    txn.mail(
        owner,
        templates::already_registered(&app.settings.public_url),
        Budget::Anonymous,
    )
    .await?;
    Ok(())
}

/// Creates an active staff superuser (the `create-superuser` command).
#[tracing::instrument(skip_all)]
pub async fn create_superuser(
    app: &AppContext,
    email: &str,
    username: Option<&str>,
    password: &str,
) -> AppResult<user::Model> {
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(email));
    let username = username.and_then(|u| errors.check("username", Username::parse(u)));
    let password = errors.check(
        "password",
        Password::parse(
            password,
            email.as_ref().map(Email::as_str),
            username.as_ref().map(Username::as_str),
        ),
    );
    errors.into_result()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "validated input is missing"
        )));
    };
    if find_by_email(app.db.alone(), &email).await?.is_some() {
        return Err(AppError::field("email", "already has an account"));
    }
    if let Some(u) = &username {
        ensure_username_free(app.db.alone(), u, None).await?;
    }
    let now = now();
    let mut account = new_account(
        &email,
        username.as_ref(),
        app.hasher.hash(&password).await?,
        now,
    );
    account.is_active = Set(true);
    account.is_staff = Set(true);
    account.is_superuser = Set(true);
    account.activated_at = Set(Some(now));
    let txn = app.db.write().await?;
    let created = account.insert(&txn).await?;
    webhook_outbox::user_created(&txn, &created).await?;
    txn.commit().await?;
    Ok(created)
}
