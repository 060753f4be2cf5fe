//! Schema migrations, applied by `authql migrate` and at server start.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_user_table;
mod m20261123_000002_create_email_outbox;
mod m20261123_000003_create_one_time_code;
mod m20261123_000004_create_rate_limit;
mod m20261123_000005_create_sessions_and_tokens;
mod m20261123_000006_create_products;
mod m20261202_000007_account_hardening;
mod m20261202_000008_create_security_events;
mod m20261202_000009_second_factors;
mod m20261202_000010_create_email_changes;
mod m20261202_000011_outbox_urgency_and_dead_letters;
mod m20261203_000012_create_passkeys;
mod m20261207_000013_session_assurance;
mod m20261207_000014_bounded_search_text;
mod m20261207_000015_ceremony_clients;
mod m20261207_000016_product_search_index;
mod m20261207_000017_email_sign_in;
mod m20261207_000018_webhooks;
mod m20261207_000019_organizations;
mod m20261207_000020_identities;
mod m20261207_000021_oauth_provider;
mod m20261207_000022_pending_links;
mod m20261207_000023_product_index_rows_by_the_writer;

/// Folded text columns compare byte-wise on both backends (SQLite's BINARY,
/// PostgreSQL's "C" collation), so keyset cursors order rows alike everywhere.
fn bytewise(mut col: ColumnDef, backend: sea_orm::DbBackend) -> ColumnDef {
    if backend == sea_orm::DbBackend::Postgres {
        col.extra("COLLATE \"C\"");
    }
    col
}

/// A foreign key whose rows are deleted with the row they point at.
fn cascade(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Adds `column` to `table`.
async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

/// An index named `name` over `columns` of `table`, in that order.
fn index<C: IntoIndexColumn>(
    name: &str,
    table: impl IntoIden,
    columns: impl IntoIterator<Item = C>,
) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).to_owned();
    for column in columns {
        index.col(column);
    }
    index
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
            Box::new(m20261202_000007_account_hardening::Migration),
            Box::new(m20261202_000008_create_security_events::Migration),
            Box::new(m20261202_000009_second_factors::Migration),
            Box::new(m20261202_000010_create_email_changes::Migration),
            Box::new(m20261202_000011_outbox_urgency_and_dead_letters::Migration),
            Box::new(m20261203_000012_create_passkeys::Migration),
            Box::new(m20261207_000013_session_assurance::Migration),
            Box::new(m20261207_000014_bounded_search_text::Migration),
            Box::new(m20261207_000015_ceremony_clients::Migration),
            Box::new(m20261207_000016_product_search_index::Migration),
            Box::new(m20261207_000017_email_sign_in::Migration),
            Box::new(m20261207_000018_webhooks::Migration),
            Box::new(m20261207_000019_organizations::Migration),
            Box::new(m20261207_000020_identities::Migration),
            Box::new(m20261207_000021_oauth_provider::Migration),
            Box::new(m20261207_000022_pending_links::Migration),
            Box::new(m20261207_000023_product_index_rows_by_the_writer::Migration),
        ]
    }
}
