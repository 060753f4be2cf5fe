//! The PostgreSQL listener of API.md §8.6 (`LISTEN`/`NOTIFY`): a session of
//! its own, so behind a transaction-pooling PgBouncer it connects to
//! `DATABASE_LISTEN_URL`, PostgreSQL itself. TLS as its URL's `sslmode`.

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{DbErr, RuntimeErr};

use crate::config::database::is_postgres;

pub struct Listener(PgListener);

fn lost(e: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(e.into()))
}

impl Listener {
    /// Connects to `url` and listens on `channel`; `None` when `url` is
    /// not PostgreSQL (SQLite has no notifications: sockets poll instead).
    pub async fn connect(url: &str, channel: &str) -> Result<Option<Listener>, DbErr> {
        if !is_postgres(url) {
            return Ok(None);
        }
        let mut listener = PgListener::connect(url).await.map_err(lost)?;
        listener.listen(channel).await.map_err(lost)?;
        Ok(Some(Listener(listener)))
    }

    /// The next notification's payload; an error when the session is lost.
    pub async fn recv(&mut self) -> Result<String, DbErr> {
        let notification = self.0.recv().await.map_err(lost)?;
        Ok(notification.payload().to_owned())
    }
}
