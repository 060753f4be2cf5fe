//! Seeds the benchmark's data straight into the database (not through the
//! API): the bench user and 1,000 products. Run by `bench/run.sh`.
//!
//! Usage: DATABASE_URL=… SECRET_KEY=… bench_seed [PRODUCTS] [COPIES]
//!
//! With COPIES (`bench/scale.sh`), each product is then copied in SQL until
//! there are PRODUCTS × COPIES, the copy number appended to its name
//! ("Product 0421 v777"): a table at scale in seconds instead of hours of
//! requests, every row reaching the search index through its triggers.

use std::sync::Arc;

use authql::config::Settings;
use authql::services::AppContext;
use authql::services::account::registration;
use authql::services::resources::products;

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "correct horse battery staple";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let copies: u32 = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let (settings, _) = Settings::from_env()?;
    authql::db::migrate(settings.migration_url(), authql::db::MigrateCommand::Up).await?;
    let app = AppContext::new(
        authql::db::connect(&settings.database_url, None, settings.database_pooled).await?,
        Arc::new(settings),
    )?;
    let user = registration::create_superuser(&app, EMAIL, Some("bench"), PASSWORD)
        .await
        .map_err(|e| anyhow::anyhow!("creating the bench user: {}", e.message()))?;
    // The bench user as an API token would act: no session, no organization.
    let owner = authql::auth::viewer::Authenticated {
        user,
        credential: authql::auth::viewer::Credential::ApiToken(uuid::Uuid::nil()),
        organization: None,
        proof: None,
    };
    for i in 0..count {
        let input = products::ProductInput {
            name: Some(format!("Product {i:04}")),
            description: Some(format!("Benchmark product number {i}, in batch {}", i % 10)),
            price_cents: Some(((i * 37) % 10_000) as i32),
            in_stock: Some(i % 3 != 0),
        };
        products::create(&app, &owner, input)
            .await
            .map_err(|e| anyhow::anyhow!("creating a product: {}", e.message()))?;
    }
    if copies > 1 {
        copy_products(&app, copies).await?;
    }
    println!(
        "seeded {EMAIL} and {} products",
        count as u64 * u64::from(copies)
    );
    Ok(())
}

/// Copies every product `copies - 1` times in one statement per database.
async fn copy_products(app: &AppContext, copies: u32) -> anyhow::Result<()> {
    use sea_orm::{ConnectionTrait, DbBackend};
    let postgres = app.db.alone().get_database_backend() == DbBackend::Postgres;
    let (new_id, numbers) = if postgres {
        (
            "gen_random_uuid()",
            format!("generate_series(1, {}) AS copies(i)", copies - 1),
        )
    } else {
        (
            "randomblob(16)",
            format!(
                "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
                 SELECT i FROM n) AS copies",
                copies - 1
            ),
        )
    };
    let sql = format!(
        "INSERT INTO products (id, owner_id, name, name_fold, description, description_fold, \
         price_cents, in_stock, created_at, updated_at) \
         SELECT {new_id}, owner_id, name || ' v' || i, name_fold || ' v' || i, description, \
         description_fold, price_cents, in_stock, created_at, updated_at \
         FROM products, {numbers}"
    );
    app.db.alone().execute_unprepared(&sql).await?;
    if postgres {
        app.db
            .alone()
            .execute_unprepared("ANALYZE products")
            .await?;
    } else {
        // The copies' search index rows (the server adds them for the rows
        // it inserts itself).
        app.db
            .alone()
            .execute_unprepared("INSERT INTO products_search(products_search) VALUES ('rebuild')")
            .await?;
        app.db.alone().execute_unprepared("ANALYZE").await?;
    }
    Ok(())
}
