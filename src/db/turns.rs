//! Turns: a bounded number of holders at once, with a deadline to get one.
//! What keeps list reads from taking every connection (`Hot`) and long
//! SQLite reads from taking every blocking thread (`in_place`).

use std::sync::Arc;

use sea_orm::DbErr;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// At most so many holders at once; a caller that cannot get a turn by its
/// deadline fails as a pool checkout that timed out would.
#[derive(Debug)]
pub struct Turns(Arc<Semaphore>);

impl Turns {
    pub fn new(permits: usize) -> Turns {
        Turns(Arc::new(Semaphore::new(permits)))
    }

    pub async fn take(&self, deadline: Instant) -> Result<OwnedSemaphorePermit, DbErr> {
        use sea_orm::ConnAcquireErr;
        match tokio::time::timeout_at(deadline, self.0.clone().acquire_owned()).await {
            Ok(Ok(turn)) => Ok(turn),
            Ok(Err(_closed)) => Err(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)),
            Err(_elapsed) => Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
        }
    }
}
