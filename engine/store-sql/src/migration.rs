//! Schema migrations, run by `SqlStore::connect`. One timestamped file per change; a
//! migration, once released, is never edited (add a new one instead).

mod m20261127_000001_create_tables;
mod m20261127_000002_case_creation;
mod m20261207_000003_work_tables;
mod m20261208_000004_task_kind;
mod m20261208_000005_case_channel;
pub(crate) mod m20261209_000006_board_index;

use sea_orm_migration::prelude::*;

/// Every migration, oldest first.
pub(crate) struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_tables::Migration),
            Box::new(m20261127_000002_case_creation::Migration),
            Box::new(m20261207_000003_work_tables::Migration),
            Box::new(m20261208_000004_task_kind::Migration),
            Box::new(m20261208_000005_case_channel::Migration),
            Box::new(m20261209_000006_board_index::Migration),
        ]
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectOptions, ConnectionTrait, Database};
    use sea_orm_migration::MigratorTrait;
    use yijian_engine::CaseNo;
    use yijian_engine::store::{CaseStore, CaseSummary, Commit, EventLog, KeyedCase};

    use super::Migrator;
    use crate::{SqlOptions, SqlStore};

    /// A database written by the first schema upgrades when connected: creation times come
    /// from the stored events, creation counts stay unknown, new cases get both.
    #[tokio::test]
    async fn a_sqlite_database_of_the_first_schema_upgrades() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        upgrade(&url, None).await;
    }

    /// The same on PostgreSQL (in a schema of its own), when `DATABASE_URL` is set.
    #[tokio::test]
    async fn a_postgres_database_of_the_first_schema_upgrades() {
        let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
            println!("DATABASE_URL is not set; skipping the PostgreSQL upgrade");
            return;
        };
        let nanos = jiff::Timestamp::now().as_nanosecond();
        let schema = format!("yj_upgrade_{}_{nanos}", std::process::id());
        upgrade(&url, Some(&schema)).await;
        let db = Database::connect(&url).await.expect("connect");
        db.execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
            .expect("drop the schema");
    }

    async fn upgrade(url: &str, schema: Option<&str>) {
        let mut options = ConnectOptions::new(url);
        options.sqlx_logging(false);
        if let Some(schema) = schema {
            let db = Database::connect(url).await.expect("connect");
            db.execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
                .await
                .expect("a schema");
            options.set_schema_search_path(schema);
        }
        let db = Database::connect(options).await.expect("connect");
        Migrator::up(&db, Some(1))
            .await
            .expect("the first migration only");
        // Two cases as the first schema held them: `late` numbered before `early`.
        for sql in [
            "INSERT INTO cases (case_no, bundle, version, region, status, closed, event_count, \
             accepted_at, idempotency_key) VALUES \
             ('1-late', 'b', 1, '', 'running', false, 2, NULL, 'key-late'), \
             ('2-early', 'b', 1, '', 'completed', true, 1, NULL, NULL)",
            "INSERT INTO events (case_no, seq, at, kind, body, prev_hash, hash) VALUES \
             ('1-late', 1, '2026-11-02T00:00:00.000000000Z', 'case_withdrawn', '{}', '', ''), \
             ('1-late', 2, '2026-11-03T00:00:00.000000000Z', 'case_withdrawn', '{}', '', ''), \
             ('2-early', 1, '2026-11-01T00:00:00.000000000Z', 'case_withdrawn', '{}', '', '')",
        ] {
            db.execute_unprepared(sql).await.expect("old rows");
        }
        db.close().await.expect("close");

        let options = match schema {
            Some(s) => SqlOptions::default().schema(s),
            None => SqlOptions::default(),
        };
        let store = SqlStore::connect_with(url, options)
            .await
            .expect("connect and upgrade");
        let listed = |page: Vec<CaseSummary>| -> Vec<String> {
            page.into_iter().map(|s| s.case_no.to_string()).collect()
        };
        assert_eq!(
            listed(store.cases(None, 10).await.expect("cases")),
            ["2-early", "1-late"],
            "old cases are listed by the time of their first event"
        );
        assert_eq!(
            store.case_for_key("key-late").await.expect("key"),
            Some(KeyedCase {
                case_no: CaseNo::new("1-late"),
                created_events: None,
            }),
            "an old case's creation count is unknown"
        );

        let new = CaseNo::new("0-new");
        let event: yijian_engine::Event = serde_json::from_str(
            r#"{"event": "case_withdrawn", "at": "2026-11-04T00:00:00Z", "actor": {"kind": "engine"}}"#,
        )
        .expect("an event");
        store
            .append(Commit {
                case_no: new.clone(),
                expected_version: 0,
                lineage: 0,
                events: vec![event],
                summary: CaseSummary {
                    case_no: new.clone(),
                    bundle: "b".into(),
                    version: 1,
                    region: "".into(),
                    status: "running".into(),
                    closed: false,
                    event_count: 1,
                    accepted_at: None,
                    next_timer: None,
                    warning: Default::default(),
                    due: None,
                    channel: None,
                },
                idempotency_key: Some("key-new".into()),
                tasks: Vec::new(),
                removed_tasks: Vec::new(),
            })
            .await
            .expect("a new case");
        assert_eq!(
            listed(store.cases(None, 10).await.expect("cases")),
            ["2-early", "1-late", "0-new"]
        );
        assert_eq!(
            store.case_for_key("key-new").await.expect("key"),
            Some(KeyedCase {
                case_no: new,
                created_events: Some(1),
            })
        );
    }
}
