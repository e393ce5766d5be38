//! The store's story suite: every story runs on SQLite (a real file), and on PostgreSQL when
//! `FIREBREAK_TEST_POSTGRES` holds a server URL (each story then gets a fresh database).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)] // Test code.

mod notify;
mod stories;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use firebreak_store::SqlStore;
use sqlx::Connection;

/// A store under test, and what to clean up after it.
#[derive(Debug)]
pub struct Subject {
    pub name: &'static str,
    pub store: Arc<SqlStore>,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl Subject {
    pub async fn finish(self) {
        let Subject { store, postgres, .. } = self;
        store.pool().close().await;
        if let Some((admin_url, database)) = postgres {
            let mut conn = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The stores every story runs on.
pub async fn subjects() -> Vec<Subject> {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("firebreak.db");
    let sqlite = SqlStore::open(&format!("sqlite://{}", path.display())).await.unwrap();
    let mut subjects =
        vec![Subject { name: "sqlite", store: Arc::new(sqlite), _dir: Some(dir), postgres: None }];
    match std::env::var("FIREBREAK_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => {
            let database = format!(
                "fbtest_{}_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed),
                std::time::Instant::now().elapsed().subsec_nanos()
            );
            let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap_or_else(|error| {
                panic!("FIREBREAK_TEST_POSTGRES is set but {url} is not reachable: {error}")
            });
            sqlx::query(&format!("CREATE DATABASE {database}")).execute(&mut conn).await.unwrap();
            let (base, _) = url.rsplit_once('/').unwrap();
            let store = SqlStore::open(&format!("{base}/{database}")).await.unwrap();
            subjects.push(Subject {
                name: "postgres",
                store: Arc::new(store),
                _dir: None,
                postgres: Some((url, database)),
            });
        }
        _ => {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                eprintln!("note: FIREBREAK_TEST_POSTGRES is not set; the store stories ran on SQLite only (PostgreSQL skipped)");
            });
        }
    }
    subjects
}
