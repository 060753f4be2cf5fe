//! Schema migrations, applied by `authql migrate` and at server start.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_user_table;
mod m20261123_000002_create_email_outbox;
mod m20261123_000003_create_one_time_code;
mod m20261123_000004_create_rate_limit;
mod m20261123_000005_create_sessions_and_tokens;
mod m20261123_000006_create_products;

/// Folded text columns compare byte-wise on both backends (SQLite's BINARY,
/// PostgreSQL's "C" collation), so keyset cursors order rows alike everywhere.
fn bytewise(mut col: ColumnDef, backend: sea_orm::DbBackend) -> ColumnDef {
    if backend == sea_orm::DbBackend::Postgres {
        col.extra("COLLATE \"C\"");
    }
    col
}

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_user_table::Migration),
            Box::new(m20261123_000002_create_email_outbox::Migration),
            Box::new(m20261123_000003_create_one_time_code::Migration),
            Box::new(m20261123_000004_create_rate_limit::Migration),
            Box::new(m20261123_000005_create_sessions_and_tokens::Migration),
            Box::new(m20261123_000006_create_products::Migration),
        ]
    }
}
