//! What a case's creation was: `cases.created_at` (the `at` of its first event, for
//! listing every case in creation order, with the index `cases_created`) and
//! `cases.created_events` (how many events its first commit had, for answering a repeated
//! idempotent submission as the first one was answered).
//!
//! Existing cases get `created_at` from their first stored event; their `created_events`
//! stays NULL (no commit boundaries are stored, so it cannot be recovered). Each step
//! checks first whether it was done, so two nodes migrating one PostgreSQL at once do not
//! fail on each other's columns.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    CaseNo,
    CreatedAt,
    CreatedEvents,
}

// The trait's signature elides SchemaManager's lifetime, and async_trait needs the impl to
// match it exactly.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER TABLE: SQLite takes no more.
        if !manager.has_column("cases", "created_at").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Cases::Table)
                        .add_column(
                            ColumnDef::new(Cases::CreatedAt)
                                .text()
                                .not_null()
                                .default(""),
                        )
                        .to_owned(),
                )
                .await?;
            // Text order of the stored timestamps is time order (RFC 3339, UTC, nine
            // fractional digits), as for `events.at` which it is copied from.
            manager
                .get_connection()
                .execute_unprepared(
                    "UPDATE cases SET created_at = COALESCE((SELECT e.at FROM events e \
                     WHERE e.case_no = cases.case_no AND e.seq = 1), '')",
                )
                .await?;
        }
        if !manager.has_column("cases", "created_events").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Cases::Table)
                        .add_column(ColumnDef::new(Cases::CreatedEvents).big_integer().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("cases_created")
                    .table(Cases::Table)
                    .col(Cases::CreatedAt)
                    .col(Cases::CaseNo)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
