//! `cases.channel`: the channel that took the application (`window`, `portal`, `app`,
//! `kiosk` or an integrator's own), so listings and the supervisor's figures can be split
//! by channel. Cases created before it have none (NULL).

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
        if !manager.has_column("cases", "channel").await? {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE cases ADD COLUMN channel TEXT NULL")
                .await?;
        }
        Ok(())
    }
}
