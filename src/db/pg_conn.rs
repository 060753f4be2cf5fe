//! One pipelined tokio-postgres connection of the direct path
//! (`db::direct`): the statements it keeps prepared, and searches, which
//! run unnamed — as every statement does behind a transaction pooler
//! (`DATABASE_POOLER=transaction`), where a statement prepared in one
//! exchange may not exist on the server connection of the next.

use std::collections::HashMap;
use std::sync::Mutex;

use futures_util::TryStreamExt;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row, RowStream, Statement};

use super::pg_params::Param;

// Behind a pooler every column must be of a built-in type: for one it does
// not know, tokio-postgres looks the type up with a statement of its own,
// prepared in one exchange and run in the next.

/// Statements a connection keeps prepared; past that it forgets them all
/// (the hot statements are a few dozen shapes, so this is only a bound).
const STATEMENTS_KEPT: usize = 256;

pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) statements: Mutex<HashMap<String, Statement>>,
    /// Every statement unnamed: parsed, bound and run in one exchange.
    pub(super) unnamed: bool,
}

impl Conn {
    /// The statement's rows, and how many rows it changed.
    pub(super) async fn run(
        &self,
        sql: &str,
        types: &[Type],
        values: &[sea_orm::Value],
    ) -> Result<(Vec<Row>, u64), tokio_postgres::Error> {
        let params: Vec<Param<'_>> = values.iter().map(Param).collect();
        let stream = if self.unnamed || searches(sql) {
            // Unnamed, so planned with its values every time.
            let typed = params
                .iter()
                .zip(types)
                .map(|(p, t)| (p as &(dyn ToSql + Sync), t.clone()));
            self.client.query_typed_raw(sql, typed).await?
        } else {
            let statement = self.prepared(sql, types).await?;
            let params = params.iter().map(|p| p as &(dyn ToSql + Sync));
            self.client.query_raw(&statement, params).await?
        };
        drain(stream).await
    }

    /// `sql` prepared with `types` on this connection: once, then kept.
    async fn prepared(
        &self,
        sql: &str,
        types: &[Type],
    ) -> Result<Statement, tokio_postgres::Error> {
        let kept = self
            .statements
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(sql)
            .cloned();
        match kept {
            Some(statement) if statement.params() == types => return Ok(statement),
            // The same SQL with other parameter types: rare, not kept.
            Some(_) => return self.client.prepare_typed(sql, types).await,
            None => {}
        }
        let statement = self.client.prepare_typed(sql, types).await?;
        let mut kept = self.statements.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= STATEMENTS_KEPT {
            kept.clear();
        }
        kept.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// Whether `sql` searches text (`LIKE '%…%'`): it runs unnamed on
/// connections of its own that keep PostgreSQL's default plan choice, so
/// it is planned for its pattern each time. A generic plan cannot tell a
/// term that the trigram index finds in a few rows from one in every row:
/// it walked the whole ordering for a term in one row of a million (826 ms
/// against 35 ms planned with the term, `bench/scale.sh postgres`).
pub(super) fn searches(sql: &str) -> bool {
    sql.contains(" LIKE ")
}

/// Every row of `stream`, and the rows its statement changed.
async fn drain(stream: RowStream) -> Result<(Vec<Row>, u64), tokio_postgres::Error> {
    let mut stream = std::pin::pin!(stream);
    let mut rows = Vec::new();
    while let Some(row) = stream.try_next().await? {
        rows.push(row);
    }
    let affected = stream.rows_affected().unwrap_or(0);
    Ok((rows, affected))
}
