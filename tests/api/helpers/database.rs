use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

/// A database of one test's own, removed when the test ends.
pub struct TestDatabase {
    pub url: String,
    kind: Kind,
}

enum Kind {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                let name = format!("authql_test_{id}");
                let admin = Database::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but unreachable: {e}"));
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create the test database");
                admin.close().await.ok();
                let url = replace_db_name(&admin_url, &name);
                TestDatabase {
                    url,
                    kind: Kind::Postgres { admin_url, name },
                }
            }
            None => {
                let dir = std::env::temp_dir().join(format!("authql-test-{id}"));
                std::fs::create_dir_all(&dir).expect("create the test directory");
                let url = format!("sqlite://{}?mode=rwc", dir.join("authql.db").display());
                TestDatabase {
                    url,
                    kind: Kind::Sqlite { dir },
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, Kind::Postgres { .. })
    }

    /// The SQLite database file (without its WAL); None on PostgreSQL.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match &self.kind {
            Kind::Sqlite { dir } => Some(dir.join("authql.db")),
            Kind::Postgres { .. } => None,
        }
    }

    /// A scratch directory next to the database (SQLite) or in the temp dir.
    pub fn scratch_dir(&self, what: &str) -> PathBuf {
        let base = match &self.kind {
            Kind::Sqlite { dir } => dir.clone(),
            Kind::Postgres { name, .. } => std::env::temp_dir().join(name),
        };
        let dir = base.join(what);
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        dir
    }

    /// Drops the database under a running server (PostgreSQL only).
    pub async fn drop_now(&self) {
        if let Kind::Postgres { admin_url, name } = &self.kind {
            drop_postgres(admin_url, name).await;
        }
    }
}

async fn drop_postgres(admin_url: &str, name: &str) {
    if let Ok(admin) = Database::connect(admin_url).await {
        let _ = admin
            .execute_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            ))
            .await;
        admin.close().await.ok();
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.kind {
            Kind::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Kind::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: use a runtime of our own on another thread.
                let _ = std::thread::spawn(move || {
                    if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        rt.block_on(drop_postgres(&admin_url, &name));
                    }
                    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(&name));
                })
                .join();
            }
        }
    }
}
