//! `Alone`: where a statement that is its own transaction runs (`Db::alone`).
//!
//! On the pool, as it is, normally. Behind a transaction pooler
//! (`DATABASE_POOLER=transaction`, API.md §8.10) a statement outside a
//! transaction cannot run on sqlx's pool: sqlx prepares a named statement
//! in one exchange and binds it in the next, and between the two the pooler
//! may hand the server connection to another client (or give this one a
//! server where another client's statement has the same name). So there
//! each statement runs in a transaction of its own, set up as `Db::write`
//! sets up every transaction (`begin_pooled`): the pooler keeps one server
//! connection for it from `BEGIN` to `COMMIT`.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, Statement,
};

use super::{Pooled, begin_pooled};

#[derive(Clone, Debug)]
pub struct Alone {
    pool: DatabaseConnection,
    /// Behind a pooler: how each statement's transaction is set up.
    pooled: Option<Pooled>,
}

impl Alone {
    pub(super) fn new(pool: DatabaseConnection, pooled: Option<Pooled>) -> Alone {
        Alone { pool, pooled }
    }

    /// Behind a pooler, a transaction for one statement.
    async fn begin(&self) -> Result<Option<DatabaseTransaction>, DbErr> {
        match self.pooled {
            Some(pooled) => begin_pooled(&self.pool, pooled).await.map(Some),
            None => Ok(None),
        }
    }
}

/// Commits `txn` when `answer` is good, else rolls it back.
async fn end<T>(txn: DatabaseTransaction, answer: Result<T, DbErr>) -> Result<T, DbErr> {
    match answer {
        Ok(value) => txn.commit().await.map(|()| value),
        Err(e) => {
            txn.rollback().await.ok();
            Err(e)
        }
    }
}

/// `$call` with `$conn` as the statement's own transaction behind a pooler
/// (committed when it succeeds), else as the pool.
macro_rules! on_its_own {
    ($alone:ident, $conn:ident => $call:expr) => {
        match $alone.begin().await? {
            Some(txn) => {
                let $conn = &txn;
                let answer = $call.await;
                end(txn, answer).await
            }
            None => {
                let $conn = &$alone.pool;
                $call.await
            }
        }
    };
}

#[async_trait::async_trait]
impl ConnectionTrait for Alone {
    fn get_database_backend(&self) -> DbBackend {
        self.pool.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        on_its_own!(self, conn => conn.execute_raw(stmt))
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        on_its_own!(self, conn => conn.execute_unprepared(sql))
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        on_its_own!(self, conn => conn.query_one_raw(stmt))
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        on_its_own!(self, conn => conn.query_all_raw(stmt))
    }

    fn support_returning(&self) -> bool {
        self.pool.support_returning()
    }
}
