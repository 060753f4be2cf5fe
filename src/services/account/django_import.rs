//! `authql import-django` (API.md §8.5): users of a Django site, read from
//! its database (SQLite or PostgreSQL, through SeaORM), become authql
//! accounts that keep their Django password hashes; each hash is replaced
//! by authql's argon2id on its user's first sign-in (`login::check_password`).
//! Every row is imported or skipped with a reason; a re-run skips what an
//! earlier one imported (its address is taken), so nothing is imported twice.

use chrono::{DateTime, NaiveDateTime, Utc};
use entity::user;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Database, QueryResult, Statement,
    TryGetable,
};

use crate::auth::django_hash::{self, Refusal};
use crate::db::{Db, now};
use crate::domain::{Email, Username};
use crate::error::AppError;
use crate::services::shared::accounts::{
    ensure_username_free, find_by_email, new_account, parse_name, search_fold,
};
use crate::services::shared::webhook_outbox;

/// What happened to one row.
pub enum Outcome {
    /// Imported (`usable`: with a password that signs in; `unusable`: why
    /// a hash was not trusted, so the user signs in after a reset).
    Imported {
        usable: bool,
        unusable: Option<String>,
    },
    Skipped {
        reason: String,
    },
}

/// One row's outcome, for the operator (never a password or hash).
pub struct RowReport {
    pub id: String,
    pub email: String,
    pub outcome: Outcome,
}

#[derive(Default, Debug, PartialEq, Eq)]
pub struct Summary {
    pub imported: u64,
    pub skipped: u64,
}

/// A Django user row, as read.
struct DjangoUser {
    id: String,
    email: String,
    username: Option<String>,
    password: String,
    first_name: String,
    last_name: String,
    is_active: bool,
    is_staff: bool,
    is_superuser: bool,
    date_joined: Option<DateTime<Utc>>,
    last_login: Option<DateTime<Utc>>,
}

/// A table name safe to put in SQL: letters, digits and `_` only.
fn checked_table(table: &str) -> anyhow::Result<&str> {
    let ok = !table.is_empty()
        && table.len() <= 63
        && table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !table.as_bytes()[0].is_ascii_digit();
    anyhow::ensure!(ok, "--table must be a plain table name, got {table:?}");
    Ok(table)
}

fn get<T: TryGetable>(row: &QueryResult, column: &str) -> Option<T> {
    row.try_get::<T>("", column).ok()
}

/// A datetime column as SQLite (text, Django writes no offset: UTC) or
/// PostgreSQL (`timestamptz`) holds it.
fn datetime(row: &QueryResult, column: &str) -> Option<DateTime<Utc>> {
    get::<Option<DateTime<Utc>>>(row, column)
        .flatten()
        .or_else(|| {
            get::<Option<NaiveDateTime>>(row, column)
                .flatten()
                .map(|t| t.and_utc())
        })
}

fn read(row: &QueryResult) -> DjangoUser {
    let text = |column: &str| {
        get::<Option<String>>(row, column)
            .flatten()
            .unwrap_or_default()
    };
    let id = get::<i64>(row, "id")
        .map(|id| id.to_string())
        .unwrap_or_else(|| text("id"));
    DjangoUser {
        id,
        email: text("email"),
        username: get::<Option<String>>(row, "username").flatten(),
        password: text("password"),
        first_name: text("first_name"),
        last_name: text("last_name"),
        is_active: get::<bool>(row, "is_active").unwrap_or(false),
        is_staff: get::<bool>(row, "is_staff").unwrap_or(false),
        is_superuser: get::<bool>(row, "is_superuser").unwrap_or(false),
        date_joined: datetime(row, "date_joined"),
        last_login: datetime(row, "last_login"),
    }
}

/// Imports every row of `table` in `source_url` into `db`, in one
/// transaction (rolled back with `dry_run`). `report` hears of each row,
/// first of how many there are.
#[tracing::instrument(skip_all)]
pub async fn import(
    db: &Db,
    source_url: &str,
    table: &str,
    dry_run: bool,
    total: &mut dyn FnMut(u64),
    report: &mut dyn FnMut(RowReport),
) -> anyhow::Result<Summary> {
    let table = checked_table(table)?;
    let source = Database::connect(source_url).await?;
    let backend = source.get_database_backend();
    let count = source
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM \"{table}\""),
        ))
        .await?
        .and_then(|row| get::<i64>(&row, "n"))
        .unwrap_or(0);
    total(u64::try_from(count).unwrap_or(0));
    let rows = source
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT * FROM \"{table}\" ORDER BY id"),
        ))
        .await?;
    let txn = db.write().await?;
    let mut summary = Summary::default();
    for (n, row) in rows.iter().enumerate() {
        if n % 500 == 499 {
            db.forget_statements(&txn).await?;
        }
        let django = read(row);
        let outcome = match import_one(&txn, &django).await? {
            Ok((usable, unusable)) => {
                summary.imported += 1;
                Outcome::Imported { usable, unusable }
            }
            Err(reason) => {
                summary.skipped += 1;
                Outcome::Skipped { reason }
            }
        };
        report(RowReport {
            id: django.id,
            email: django.email,
            outcome,
        });
    }
    if dry_run {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
    }
    Ok(summary)
}

/// Imports one row: `Ok((usable, why not trusted))`, or the reason it was
/// skipped. Earlier
/// rows are in the same transaction (a dry run's too, rolled back at the
/// end), so a duplicate within the import is found like an existing one.
async fn import_one(
    txn: &impl ConnectionTrait,
    django: &DjangoUser,
) -> anyhow::Result<Result<(bool, Option<String>), String>> {
    let Ok(email) = Email::parse(&django.email) else {
        return Ok(Err("no valid email".into()));
    };
    if find_by_email(txn, &email).await?.is_some() {
        return Ok(Err("email already taken".into()));
    }
    // A hash that is not exactly what its algorithm writes (an empty, cut
    // or padded digest, no salt) or costs more than the limits is imported
    // unusable and says so (API.md §8.10): it would match any password, or
    // tie up the hashing threads. An unknown hasher skips the row.
    let (usable, unusable, stored) = match django_hash::parse(&django.password) {
        Ok(_) => (true, None, django.password.clone()),
        Err(Refusal::Unusable) => (false, None, django.password.clone()),
        Err(refusal @ Refusal::Unsupported(_)) => return Ok(Err(refusal.reason())),
        Err(refusal) => (false, Some(refusal.reason()), "!".to_owned()),
    };
    // A username authql's rules refuse is dropped; a taken one skips the row.
    let username = django
        .username
        .as_deref()
        .and_then(|u| Username::parse(u).ok());
    if let Some(u) = &username {
        let taken = match ensure_username_free(txn, u, None).await {
            Ok(()) => false,
            Err(AppError::BadUserInput(_)) => true,
            Err(e) => anyhow::bail!("checking a username: {}", e.message()),
        };
        if taken {
            return Ok(Err("username already taken".into()));
        }
    }
    let now = now();
    let joined = django.date_joined.unwrap_or(now);
    let name = |raw: &str| parse_name(raw).ok().filter(|n| !n.is_empty());
    let (first, last) = (name(&django.first_name), name(&django.last_name));
    let mut account = new_account(&email, username.as_ref(), stored, joined);
    account.search_fold = Set(search_fold(
        email.as_str(),
        username.as_ref().map(Username::as_str),
        first.as_deref(),
        last.as_deref(),
    ));
    account.first_name = Set(first);
    account.last_name = Set(last);
    account.is_active = Set(django.is_active);
    account.is_staff = Set(django.is_staff);
    account.is_superuser = Set(django.is_superuser);
    account.last_login = Set(django.last_login);
    // Django's users are past activation; one Django had made inactive
    // stays so, and cannot reactivate itself by an activation mail.
    account.activated_at = Set(Some(joined));
    account.deactivated_at = Set((!django.is_active).then_some(now));
    account.updated_at = Set(now);
    let created: user::Model = account.insert(txn).await?;
    webhook_outbox::user_created(txn, &created).await?;
    Ok(Ok((usable, unusable)))
}
