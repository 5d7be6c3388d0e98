//! `tasks.kind`: each unit's kind of work (`licence`, `partner_check`, `fire_check.verify`,
//! `rectify`), which fetches narrowed to some tasks match on (a Camunda topic
//! `department.task`). Rows written before it have none; the engine rewrites the rows of
//! their open cases at start (`Engine::recover`, through `WorkStore::unindexed`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

// The trait's signature elides SchemaManager's lifetime, and async_trait needs the impl to
// match it exactly.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Checked first: two nodes migrating one PostgreSQL at once do not fail on each other.
        if !manager.has_column("tasks", "kind").await? {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE tasks ADD COLUMN kind TEXT NULL")
                .await?;
        }
        Ok(())
    }
}
