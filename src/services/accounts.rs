//! Registration, activation (by link or by code), resending the activation
//! mail, the profile, and superusers.

use chrono::{DateTime, Utc};
use entity::one_time_code::{self, PURPOSE_ACTIVATION};
use entity::user;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, SqlErr,
};
use uuid::Uuid;

use crate::auth::link_token::{self, LinkPurpose};
use crate::auth::tokens::{code_digest, constant_time_eq, random_token, six_digit_code};
use crate::db::{begin_write, now};
use crate::domain::{Email, FieldErrors, Invalid, Password, Phone, Username, fold};
use crate::error::{AppError, AppResult};
use crate::mail::{enqueue, templates};
use crate::services::rate_limit;
use crate::state::Core;

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
    /// One of the stored gender values (`FEMALE`, …).
    pub gender: Option<&'static str>,
}

/// The same for a new and an existing address: nothing to enumerate.
#[derive(Debug)]
pub struct Registered {
    pub email: String,
    pub activation_required: bool,
}

/// A field of a profile update: left alone, cleared, or set.
#[derive(Debug, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

#[derive(Debug, Default)]
pub struct ProfileUpdate {
    pub username: Change<String>,
    pub first_name: Change<String>,
    pub last_name: Change<String>,
    pub phone: Change<String>,
    pub gender: Option<&'static str>,
}

/// How an activation link was received.
pub enum LinkActivation {
    /// This link activated the account.
    Activated(Box<user::Model>),
    /// The account was already active (say, a mail scanner opened the link first).
    AlreadyActive,
}

const NAME_MAX_CHARS: usize = 150;

fn parse_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(Invalid(format!(
            "must be at most {NAME_MAX_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Invalid("must not contain control characters".into()));
    }
    Ok(name.to_owned())
}

pub async fn register(core: &Core, input: Registration) -> AppResult<Registered> {
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
    let (Some(email), Some(password)) = (email, password) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "validated input is missing"
        )));
    };
    if let Some(u) = &username {
        ensure_username_free(&core.db, u, None).await?;
    }
    // Hash before looking the address up, so a known and an unknown address
    // cost the same and answer alike.
    let password_hash = core.hasher.hash(&password).await?;
    let settings = &core.settings;
    let now = now();
    let active_at_once = !settings.require_activation;
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
    new_user.gender = Set(input.gender.unwrap_or("UNSPECIFIED").to_owned());
    new_user.is_active = Set(active_at_once);
    new_user.activated_at = Set(active_at_once.then_some(now));

    let txn = begin_write(&core.db).await?;
    let existing = find_by_email(&txn, &email).await?;
    let outcome = match existing {
        Some(owner) => notify_existing(&txn, core, &owner).await,
        None => match new_user.insert(&txn).await {
            Ok(created) => {
                if settings.require_activation {
                    send_activation(&txn, core, &created, now).await?;
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    match outcome {
        Ok(()) => txn.commit().await?,
        Err(e) => {
            txn.rollback().await.ok();
            match e.sql_err() {
                // Lost a race on PostgreSQL, where the transaction does not
                // serialise writers as SQLite's IMMEDIATE does.
                Some(SqlErr::UniqueConstraintViolation(what)) if what.contains("username") => {
                    return Err(AppError::field("username", "is already taken"));
                }
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    let txn = begin_write(&core.db).await?;
                    if let Some(owner) = find_by_email(&txn, &email).await? {
                        notify_existing(&txn, core, &owner).await?;
                    }
                    txn.commit().await?;
                }
                _ => return Err(e.into()),
            }
        }
    }
    core.mail_wake.notify_one();
    Ok(Registered {
        email: email.as_str().to_owned(),
        activation_required: settings.require_activation,
    })
}

async fn notify_existing(
    txn: &DatabaseTransaction,
    core: &Core,
    owner: &user::Model,
) -> Result<(), DbErr> {
    let mail = templates::already_registered(&core.settings.public_url);
    enqueue(txn, &core.settings, &owner.email, &owner.email_key, mail).await?;
    Ok(())
}

async fn find_by_email(
    conn: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::EmailKey.eq(email.key()))
        .one(conn)
        .await
}

pub async fn find_by_id(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(conn).await
}

async fn ensure_username_free(
    conn: &impl ConnectionTrait,
    username: &Username,
    except: Option<Uuid>,
) -> AppResult<()> {
    let mut query = user::Entity::find().filter(user::Column::UsernameKey.eq(username.key()));
    if let Some(id) = except {
        query = query.filter(user::Column::Id.ne(id));
    }
    if query.one(conn).await?.is_some() {
        return Err(AppError::field("username", "is already taken"));
    }
    Ok(())
}

/// What the admin's user search matches: email, username and full name.
pub fn search_fold(
    email: &str,
    username: Option<&str>,
    first: Option<&str>,
    last: Option<&str>,
) -> String {
    let name = [first, last]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    fold(&format!(
        "{email}\n{}\n{name}",
        username.unwrap_or_default()
    ))
}

/// A new, inactive, non-staff account with the given identity.
fn new_account(
    email: &Email,
    username: Option<&Username>,
    password_hash: String,
    now: DateTime<Utc>,
) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        email_key: Set(email.key().to_owned()),
        username: Set(username.map(|u| u.as_str().to_owned())),
        username_key: Set(username.map(|u| u.key().to_owned())),
        password_hash: Set(password_hash),
        first_name: Set(None),
        last_name: Set(None),
        phone: Set(None),
        gender: Set("UNSPECIFIED".to_owned()),
        is_active: Set(false),
        is_staff: Set(false),
        is_superuser: Set(false),
        two_factor_enabled: Set(false),
        security_stamp: Set(random_token()),
        search_fold: Set(search_fold(
            email.as_str(),
            username.map(Username::as_str),
            None,
            None,
        )),
        date_joined: Set(now),
        activated_at: Set(None),
        last_login: Set(None),
        updated_at: Set(now),
    }
}

/// Replaces any earlier activation code with a new one and queues the mail
/// carrying it and a fresh link.
async fn send_activation(
    txn: &DatabaseTransaction,
    core: &Core,
    user: &user::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let settings = &core.settings;
    one_time_code::Entity::delete_many()
        .filter(one_time_code::Column::UserId.eq(user.id))
        .filter(one_time_code::Column::Purpose.eq(PURPOSE_ACTIVATION))
        .exec(txn)
        .await?;
    let id = Uuid::now_v7();
    let code = six_digit_code();
    let otp_ttl =
        chrono::Duration::from_std(settings.otp_ttl).unwrap_or(chrono::Duration::minutes(10));
    one_time_code::ActiveModel {
        id: Set(id),
        user_id: Set(user.id),
        purpose: Set(PURPOSE_ACTIVATION.to_owned()),
        challenge_hash: Set(None),
        code_hash: Set(code_digest(settings.secret_bytes(), &id, &code)),
        attempts: Set(0),
        max_attempts: Set(settings.otp_max_attempts as i32),
        resends: Set(0),
        last_sent_at: Set(now),
        expires_at: Set(now + otp_ttl),
        consumed_at: Set(None),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    let token = link_token::make(settings.secret_bytes(), LinkPurpose::Activation, user, now);
    let url = format!(
        "{}/activate/{}/{}",
        settings.public_url,
        link_token::uid_for(user.id),
        token
    );
    let mail = templates::activation(
        &url,
        &code,
        &templates::duration_text(settings.activation_token_ttl),
        &templates::duration_text(settings.otp_ttl),
    );
    enqueue(txn, settings, &user.email, &user.email_key, mail).await?;
    Ok(())
}

/// Activates the account a link names, if the link is genuine and fresh.
pub async fn activate_with_link(core: &Core, uid: &str, token: &str) -> AppResult<LinkActivation> {
    let settings = &core.settings;
    let user_id = link_token::user_id_from_uid(uid).ok_or(AppError::InvalidToken)?;
    let now = now();
    let txn = begin_write(&core.db).await?;
    let user = find_by_id(&txn, user_id)
        .await?
        .ok_or(AppError::InvalidToken)?;
    let ttl = settings.activation_token_ttl;
    let secret = settings.secret_bytes();
    if user.activated_at.is_none() {
        if !link_token::check(secret, LinkPurpose::Activation, &user, token, ttl, now) {
            return Err(AppError::InvalidToken);
        }
        let activated = activate(&txn, user, now).await?;
        txn.commit().await?;
        return Ok(LinkActivation::Activated(Box::new(activated)));
    }
    txn.rollback().await.ok();
    // The link was made while the account was inactive; recognise it as
    // genuine by checking it against that state.
    let as_issued = user::Model {
        is_active: false,
        ..user.clone()
    };
    if user.is_active
        && link_token::check(secret, LinkPurpose::Activation, &as_issued, token, ttl, now)
    {
        Ok(LinkActivation::AlreadyActive)
    } else {
        Err(AppError::InvalidToken)
    }
}

/// Marks the account active and uses up its activation codes, so the link
/// and the code die together.
async fn activate(
    txn: &DatabaseTransaction,
    user: user::Model,
    now: DateTime<Utc>,
) -> Result<user::Model, DbErr> {
    one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::ConsumedAt, Expr::value(now))
        .filter(one_time_code::Column::UserId.eq(user.id))
        .filter(one_time_code::Column::Purpose.eq(PURPOSE_ACTIVATION))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .exec(txn)
        .await?;
    let mut active: user::ActiveModel = user.into();
    active.is_active = Set(true);
    active.activated_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(txn).await
}

/// Activates with the 6-digit code from the activation mail. Wrong codes
/// are counted atomically in the database, and against the sign-in rate
/// limits of the address and the client IP.
pub async fn activate_with_code(
    core: &Core,
    email: &str,
    code: &str,
    client_ip: &str,
) -> AppResult<user::Model> {
    let settings = &core.settings;
    let email = Email::parse(email).map_err(|e| AppError::field("email", &e.0))?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::field("code", "must be 6 digits"));
    }
    let now = now();
    let limits = crate::services::rate_limit::LoginLimits::new(settings, email.key(), client_ip);
    limits.begin(&core.db, now).await?;

    let user = find_by_email(&core.db, &email).await?;
    let pending = match &user {
        Some(u) if u.activated_at.is_none() => live_activation_code(&core.db, u.id, now).await?,
        _ => None,
    };
    let (Some(user), Some(row)) = (user, pending) else {
        return Err(AppError::InvalidToken);
    };
    if !constant_time_eq(
        &row.code_hash,
        &code_digest(settings.secret_bytes(), &row.id, code),
    ) {
        return Err(match count_wrong_try(&core.db, row.id).await? {
            Some(attempts) => AppError::InvalidOtp {
                attempts_left: Ord::max(row.max_attempts - attempts, 0) as u32,
            },
            None => AppError::InvalidToken,
        });
    }
    let txn = begin_write(&core.db).await?;
    let consumed = one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::ConsumedAt, Expr::value(now))
        .filter(one_time_code::Column::Id.eq(row.id))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .filter(one_time_code::Column::ExpiresAt.gt(now))
        .filter(
            Expr::col(one_time_code::Column::Attempts)
                .lt(Expr::col(one_time_code::Column::MaxAttempts)),
        )
        .exec(&txn)
        .await?;
    let fresh = find_by_id(&txn, user.id).await?;
    match fresh {
        Some(u) if consumed.rows_affected == 1 && u.activated_at.is_none() => {
            let activated = activate(&txn, u, now).await?;
            txn.commit().await?;
            limits.succeeded(&core.db).await?;
            Ok(activated)
        }
        _ => {
            txn.rollback().await.ok();
            Err(AppError::InvalidToken)
        }
    }
}

async fn live_activation_code(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<one_time_code::Model>, DbErr> {
    one_time_code::Entity::find()
        .filter(one_time_code::Column::UserId.eq(user_id))
        .filter(one_time_code::Column::Purpose.eq(PURPOSE_ACTIVATION))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .filter(one_time_code::Column::ExpiresAt.gt(now))
        .filter(
            Expr::col(one_time_code::Column::Attempts)
                .lt(Expr::col(one_time_code::Column::MaxAttempts)),
        )
        .order_by_desc(one_time_code::Column::CreatedAt)
        .one(conn)
        .await
}

/// Counts one wrong try, only while tries remain: a single conditional
/// update, so parallel requests and aliases can never exceed the maximum.
/// Returns the new count, or `None` when the code was already dead.
pub async fn count_wrong_try(
    conn: &impl ConnectionTrait,
    code_id: Uuid,
) -> Result<Option<i32>, DbErr> {
    let rows = one_time_code::Entity::update_many()
        .col_expr(
            one_time_code::Column::Attempts,
            Expr::col(one_time_code::Column::Attempts).add(1),
        )
        .filter(one_time_code::Column::Id.eq(code_id))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .filter(
            Expr::col(one_time_code::Column::Attempts)
                .lt(Expr::col(one_time_code::Column::MaxAttempts)),
        )
        .exec_with_returning(conn)
        .await?;
    Ok(rows.first().map(|r| r.attempts))
}

/// Mails a new link and code to an account that awaits activation; for any
/// other address it does nothing, and the answer is the same.
pub async fn resend_activation(core: &Core, email: &str, client_ip: &str) -> AppResult<()> {
    let email = Email::parse(email).map_err(|e| AppError::field("email", &e.0))?;
    let now = now();
    mail_request_allowed(core, client_ip, now).await?;
    let txn = begin_write(&core.db).await?;
    if let Some(user) = find_by_email(&txn, &email).await?
        && user.activated_at.is_none()
    {
        send_activation(&txn, core, &user, now).await?;
    }
    txn.commit().await?;
    core.mail_wake.notify_one();
    Ok(())
}

/// The per-IP limit on anonymous requests that send mail: the only limit
/// on them that answers `RATE_LIMITED` (the per-address budget is silent).
pub async fn mail_request_allowed(
    core: &Core,
    client_ip: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let per_ip = crate::config::RateLimit {
        max: core.settings.login_rate_limit.max.saturating_mul(5),
        window: core.settings.login_rate_limit.window,
    };
    match rate_limit::hit(
        &core.db,
        &rate_limit::key("mail-ip", client_ip),
        per_ip,
        now,
    )
    .await?
    {
        rate_limit::Verdict::Allowed => Ok(()),
        rate_limit::Verdict::Limited { retry_after_secs } => {
            Err(AppError::RateLimited { retry_after_secs })
        }
    }
}

pub async fn update_profile(
    core: &Core,
    user_id: Uuid,
    update: ProfileUpdate,
) -> AppResult<user::Model> {
    let mut errors = FieldErrors::new();
    let parse_opt =
        |errors: &mut FieldErrors,
         field: &str,
         change: Change<String>,
         parse: &dyn Fn(&str) -> Result<String, Invalid>| match change {
            Change::Keep => Change::Keep,
            Change::Clear => Change::Clear,
            Change::Set(v) if v.trim().is_empty() => Change::Clear,
            Change::Set(v) => errors
                .check(field, parse(&v))
                .map_or(Change::Keep, Change::Set),
        };
    let username = match update.username {
        Change::Set(v) if !v.trim().is_empty() => {
            match errors.check("username", Username::parse(&v)) {
                Some(u) => Change::Set(u),
                None => Change::Keep,
            }
        }
        Change::Set(_) | Change::Clear => Change::Clear,
        Change::Keep => Change::Keep,
    };
    let first_name = parse_opt(&mut errors, "firstName", update.first_name, &parse_name);
    let last_name = parse_opt(&mut errors, "lastName", update.last_name, &parse_name);
    let phone = parse_opt(&mut errors, "phone", update.phone, &|p| {
        Phone::parse(p).map(|p| p.as_str().to_owned())
    });
    errors.into_result()?;

    let now = now();
    let txn = begin_write(&core.db).await?;
    let user = find_by_id(&txn, user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let mut active: user::ActiveModel = user.into();
    match username {
        Change::Set(u) => {
            ensure_username_free(&txn, &u, Some(user_id)).await?;
            active.username = Set(Some(u.as_str().to_owned()));
            active.username_key = Set(Some(u.key().to_owned()));
        }
        Change::Clear => {
            active.username = Set(None);
            active.username_key = Set(None);
        }
        Change::Keep => {}
    }
    for (field, change) in [
        (&mut active.first_name, first_name),
        (&mut active.last_name, last_name),
        (&mut active.phone, phone),
    ] {
        match change {
            Change::Set(v) => *field = Set(Some(v)),
            Change::Clear => *field = Set(None),
            Change::Keep => {}
        }
    }
    if let Some(g) = update.gender {
        active.gender = Set(g.to_owned());
    }
    active.search_fold = Set(search_fold(
        active.email.as_ref(),
        active.username.as_ref().as_deref(),
        active.first_name.as_ref().as_deref(),
        active.last_name.as_ref().as_deref(),
    ));
    active.updated_at = Set(now);
    match active.update(&txn).await {
        Ok(updated) => {
            txn.commit().await?;
            Ok(updated)
        }
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            txn.rollback().await.ok();
            Err(AppError::field("username", "is already taken"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates an active staff superuser (the `create-superuser` command).
pub async fn create_superuser(
    core: &Core,
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
    if find_by_email(&core.db, &email).await?.is_some() {
        return Err(AppError::field("email", "already has an account"));
    }
    if let Some(u) = &username {
        ensure_username_free(&core.db, u, None).await?;
    }
    let now = now();
    let mut account = new_account(
        &email,
        username.as_ref(),
        core.hasher.hash(&password).await?,
        now,
    );
    account.is_active = Set(true);
    account.is_staff = Set(true);
    account.is_superuser = Set(true);
    account.activated_at = Set(Some(now));
    let created = account.insert(&core.db).await?;
    Ok(created)
}
