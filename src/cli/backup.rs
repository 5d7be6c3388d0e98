//! `yijian backup PATH [--db URL]`: a consistent copy of a SQLite store, taken while
//! `yijian serve` runs on it (`VACUUM INTO`); PostgreSQL is backed up with `pg_dump`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use yijian_store_sql::SqlStore;

pub(crate) fn run(db: &str, path: &Path) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = SqlStore::connect(db)
            .await
            .with_context(|| format!("cannot open the store at {db}"))?;
        store
            .backup_to(path)
            .await
            .with_context(|| format!("cannot back {db} up to {}", path.display()))?;
        println!(
            "ok  {} is a copy of {db}; check it with `yijian audit verify --db sqlite://{}?mode=rw`",
            path.display(),
            path.display()
        );
        Ok(ExitCode::SUCCESS)
    })
}
