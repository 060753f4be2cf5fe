//! Seeds the benchmark's data straight into the database (not through the
//! API): the bench user and 1,000 products. Run by `bench/run.sh`.
//!
//! Usage: DATABASE_URL=… SECRET_KEY=… bench_seed [PRODUCTS]

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
    let (settings, _) = Settings::from_env()?;
    authql::db::migrate(&settings.database_url, authql::db::MigrateCommand::Up).await?;
    let app = AppContext::new(
        authql::db::connect(&settings.database_url, None).await?,
        Arc::new(settings),
    )?;
    let user = registration::create_superuser(&app, EMAIL, Some("bench"), PASSWORD)
        .await
        .map_err(|e| anyhow::anyhow!("creating the bench user: {}", e.message()))?;
    for i in 0..count {
        let input = products::ProductInput {
            name: Some(format!("Product {i:04}")),
            description: Some(format!("Benchmark product number {i}, in batch {}", i % 10)),
            price_cents: Some(((i * 37) % 10_000) as i32),
            in_stock: Some(i % 3 != 0),
        };
        products::create(&app, &user, input)
            .await
            .map_err(|e| anyhow::anyhow!("creating a product: {}", e.message()))?;
    }
    println!("seeded {EMAIL} and {count} products");
    Ok(())
}
