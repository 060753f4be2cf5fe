//! "Queue a mail, commit, wake the worker", written once.
//!
//! Mail leaves only through the outbox, in the transaction of the change
//! that causes it; the worker is woken only after that transaction commits
//! (before, it would find nothing), and only when something was queued.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use entity::user;
use sea_orm::{DatabaseTransaction, DbErr};
use tokio::sync::Notify;

use crate::config::Settings;
use crate::db::now;
use crate::mail::{Email, outbox, templates};
use crate::services::AppContext;
use crate::services::shared::rate_limit;

/// Whose budget a message is spent from (API.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// Mail anyone can cause without credentials (activation mail and its
    /// resends, reset links, the already-registered notice): the address's
    /// `MAIL_RATE_LIMIT` applies, and over it the message is silently dropped.
    Anonymous,
    /// Sign-in codes (sent only after the right password, bounded by the
    /// challenge's rules) and security notices: outside that budget, so no
    /// stranger can silence them by spending it.
    Account,
}

/// A write transaction (`IMMEDIATE` on SQLite) that may queue mail.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    settings: Arc<Settings>,
    wake: Arc<Notify>,
    queued: AtomicBool,
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl WriteTxn {
    pub async fn begin(app: &AppContext) -> Result<WriteTxn, DbErr> {
        Ok(WriteTxn {
            txn: app.db.write().await?,
            settings: app.settings.clone(),
            wake: app.mail_wake.clone(),
            queued: AtomicBool::new(false),
        })
    }

    /// Queues `email` to `user`. From the `Anonymous` budget, over the
    /// address's `MAIL_RATE_LIMIT` the message is silently dropped: the
    /// caller's answer must not change, so the limit reveals nothing.
    /// Returns whether the message was queued.
    pub async fn mail(
        &self,
        user: &user::Model,
        email: Email,
        budget: Budget,
    ) -> Result<bool, DbErr> {
        if budget == Budget::Anonymous && !self.spend_anonymous_budget(&user.email_key).await? {
            tracing::info!("mail budget for an address exhausted; message not queued");
            return Ok(false);
        }
        self.queue(&user.email, email).await?;
        Ok(true)
    }

    /// Queues `email` to `address`, whose budget the caller has spent
    /// (an address that may have no account yet: email sign-in).
    pub async fn queue(&self, address: &str, email: Email) -> Result<(), DbErr> {
        outbox::insert(&self.txn, address, email, now()).await?;
        self.queued.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Counts one message against the address's `MAIL_RATE_LIMIT`; false
    /// when it is spent. Also done for an address with no account, where a
    /// known one would be mailed, so both cost the same work.
    pub async fn spend_anonymous_budget(&self, email_key: &str) -> Result<bool, DbErr> {
        let verdict = rate_limit::hit(
            &self.txn,
            &rate_limit::key("mail", email_key),
            self.settings.mail_rate_limit,
            now(),
        )
        .await?;
        Ok(verdict.is_allowed())
    }

    /// Queues a security notice to `user` ("on your account: {what}"),
    /// outside the anonymous budget so no stranger can silence it.
    pub async fn notify(&self, user: &user::Model, what: &str) -> Result<(), DbErr> {
        let notice = templates::security_notice(what, &self.settings.public_url);
        self.mail(user, notice, Budget::Account).await.map(drop)
    }

    /// Commits, then wakes this process's outbox worker if mail was queued
    /// (other instances find it on their next poll).
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await?;
        if self.queued.load(Ordering::Relaxed) {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Undoes everything, mail included. A failed rollback leaves nothing
    /// to do: the transaction ends with its connection either way.
    pub async fn rollback(self) {
        self.txn.rollback().await.ok();
    }
}
