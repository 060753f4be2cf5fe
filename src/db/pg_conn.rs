//! One pipelined tokio-postgres connection of the direct path
//! (`db::direct`): the statements it keeps prepared, and searches, which
//! run unnamed.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row, Statement};

use super::pg_params::Param;

/// Statements a connection keeps prepared; past that it forgets them all
/// (the hot statements are a few dozen shapes, so this is only a bound).
const STATEMENTS_KEPT: usize = 256;

pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) statements: Mutex<HashMap<String, Statement>>,
}

impl Conn {
    pub(super) async fn run(
        &self,
        sql: &str,
        types: &[Type],
        values: &[sea_orm::Value],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let params: Vec<Param<'_>> = values.iter().map(Param).collect();
        if searches(sql) {
            // Unnamed, so planned with its values every time.
            let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
                .iter()
                .zip(types)
                .map(|(p, t)| (p as _, t.clone()))
                .collect();
            return self.client.query_typed(sql, &typed).await;
        }
        let statement = self.prepared(sql, types).await?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        self.client.query(&statement, &params).await
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
