//! The work tables of a cluster (the store is the truth): `tasks`, one row per unit, which
//! department queues are read from; and on `cases` the columns timers, searches and the
//! supervisor's board are read from (`next_timer_at`, `timer_held_until`, `warning`,
//! `due_at`).
//!
//! Open cases written before this migration have no task rows yet: the engine writes them
//! at start (`Engine::recover`), reading only those cases. Every step checks first whether
//! it was done, so two nodes migrating one PostgreSQL at once do not fail on each other.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// `cases` columns: (name, SQL type and default).
const CASE_COLUMNS: [(&str, &str); 4] = [
    ("next_timer_at", "TEXT NULL"),
    ("timer_held_until", "TEXT NULL"),
    ("warning", "TEXT NOT NULL DEFAULT 'green'"),
    ("due_at", "TEXT NULL"),
];

/// `tasks`, created with `{suffix}`: `WITHOUT ROWID` on SQLite, where a table keyed by
/// text would otherwise keep its rows and its key in two B-trees (measured: bundle-5 on
/// SQLite writes its task rows a third faster so); nothing on PostgreSQL.
const TASKS: &str =
    // Timestamps are text (RFC 3339, UTC, nine fractional digits): text order is time order.
    "CREATE TABLE IF NOT EXISTS tasks (\
       case_no TEXT NOT NULL REFERENCES cases (case_no), \
       unit TEXT NOT NULL, \
       department TEXT NOT NULL, \
       region TEXT NOT NULL, \
       state TEXT NOT NULL, \
       ready_at TEXT NULL, \
       free_at TEXT NULL, \
       lease_owner TEXT NULL, \
       lease_token BIGINT NULL, \
       due_at TEXT NULL, \
       warning TEXT NOT NULL, \
       pushed BOOLEAN NOT NULL DEFAULT FALSE, \
       PRIMARY KEY (case_no, unit)){suffix}";

const STATEMENTS: [&str; 5] = [
    // Fetch (and the redelivery of pushed units): a department's units free now, in the
    // order they became free. Leased and accepted units sort after now (their lease's end,
    // or never), so a fetch never walks past them.
    "CREATE INDEX IF NOT EXISTS tasks_ready ON tasks (department, pushed, free_at) \
       WHERE ready_at IS NOT NULL",
    // Gauges and incidents: units waiting or stuck (the few: settled units are the many,
    // dispatched ones are counted from `tasks_ready`, and both stay out of this index, which
    // every dispatch and decision would otherwise update). The list is the gauges query's.
    "CREATE INDEX IF NOT EXISTS tasks_open ON tasks (state, department) WHERE state IN \
       ('waiting', 'supplement_requested', 'retry_wait', 'incident', 'suspended')",
    // Timers: each case's next one.
    "CREATE INDEX IF NOT EXISTS cases_timer ON cases (next_timer_at) \
       WHERE next_timer_at IS NOT NULL",
    // Searches by status, newest first, and the gauges' count by status (an index scan,
    // not a table scan: a million cases counted in a fraction of the time).
    "CREATE INDEX IF NOT EXISTS cases_status ON cases (status, created_at, case_no)",
    // The supervisor's board: open cases with a warning.
    "CREATE INDEX IF NOT EXISTS cases_warning ON cases (warning, created_at) \
       WHERE NOT closed AND warning <> 'green'",
];

// The trait's signature elides SchemaManager's lifetime, and async_trait needs the impl to
// match it exactly.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // One column per ALTER TABLE: SQLite takes no more.
        for (name, ty) in CASE_COLUMNS {
            if !manager.has_column("cases", name).await? {
                db.execute_unprepared(&format!("ALTER TABLE cases ADD COLUMN {name} {ty}"))
                    .await?;
            }
        }
        let suffix = match manager.get_database_backend() {
            sea_orm::DbBackend::Sqlite => " WITHOUT ROWID",
            _ => "",
        };
        db.execute_unprepared(&TASKS.replace("{suffix}", suffix))
            .await?;
        for s in STATEMENTS {
            db.execute_unprepared(s).await?;
        }
        Ok(())
    }
}
