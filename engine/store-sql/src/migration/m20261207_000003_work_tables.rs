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

const STATEMENTS: [&str; 6] = [
    // Timestamps are text (RFC 3339, UTC, nine fractional digits): text order is time order.
    "CREATE TABLE IF NOT EXISTS tasks (\
       case_no TEXT NOT NULL REFERENCES cases (case_no), \
       unit TEXT NOT NULL, \
       department TEXT NOT NULL, \
       region TEXT NOT NULL, \
       state TEXT NOT NULL, \
       ready_at TEXT NULL, \
       locked_until TEXT NULL, \
       lease_owner TEXT NULL, \
       lease_token BIGINT NULL, \
       due_at TEXT NULL, \
       warning TEXT NOT NULL, \
       pushed BOOLEAN NOT NULL DEFAULT FALSE, \
       PRIMARY KEY (case_no, unit))",
    // Fetch: a department's dispatched units, oldest first.
    "CREATE INDEX IF NOT EXISTS tasks_ready ON tasks (department, ready_at) \
       WHERE ready_at IS NOT NULL",
    // Gauges and searches by state (final states are the many; the rest are few).
    "CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state, department)",
    "CREATE INDEX IF NOT EXISTS tasks_department ON tasks (department, case_no)",
    // Timers: each case's next one.
    "CREATE INDEX IF NOT EXISTS cases_timer ON cases (next_timer_at) \
       WHERE next_timer_at IS NOT NULL",
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
        for s in STATEMENTS {
            db.execute_unprepared(s).await?;
        }
        Ok(())
    }
}
