use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use yijian_store_sql::{SqlOptions, SqlStore};

/// `sqlite://<dir>/yijian.db?mode=rwc`.
pub(crate) fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("yijian.db").display())
}

/// `DATABASE_URL`, or `None` after printing why the test is skipped.
pub(crate) fn database_url(test: &str) -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            println!("{test}: DATABASE_URL is not set; skipping the PostgreSQL run");
            None
        }
    }
}

/// A schema name no other run uses.
pub(crate) fn fresh_schema() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "yj_test_{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A PostgreSQL store in its own fresh schema.
pub(crate) async fn pg_store(url: &str, schema: &str) -> SqlStore {
    SqlStore::connect_with(url, SqlOptions::default().schema(schema))
        .await
        .expect("connect to PostgreSQL")
}

/// Drops a test schema.
pub(crate) async fn drop_schema(url: &str, schema: &str) {
    let db = Database::connect(url).await.expect("connect");
    db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .expect("drop schema");
}

/// A second, raw connection, for tampering with rows behind the store's back.
pub(crate) async fn raw(url: &str, schema: Option<&str>) -> DatabaseConnection {
    let mut options = sea_orm::ConnectOptions::new(url);
    options.sqlx_logging(false);
    if let Some(s) = schema {
        options.set_schema_search_path(s);
    }
    Database::connect(options).await.expect("raw connection")
}

/// Runs one statement.
pub(crate) async fn exec(db: &DatabaseConnection, sql: &str) -> u64 {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows_affected()
}
