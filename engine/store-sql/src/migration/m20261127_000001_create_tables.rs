//! The first schema: `bundles`, `cases`, `events`, and the index of open cases.
//!
//! Written with its own identifiers rather than the entities', so later entity changes do
//! not rewrite history. `IF NOT EXISTS` everywhere: two nodes starting at once against one
//! PostgreSQL must not fail on each other's tables.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Bundles {
    Table,
    Id,
    Version,
    Yaml,
    Hash,
    DeployedAt,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    CaseNo,
    Bundle,
    Version,
    Region,
    Status,
    Closed,
    EventCount,
    AcceptedAt,
    IdempotencyKey,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    CaseNo,
    Seq,
    At,
    Kind,
    Body,
    PrevHash,
    Hash,
}

// The trait's signature elides SchemaManager's lifetime, and async_trait needs the impl to
// match it exactly.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Bundles::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Bundles::Id).text().not_null())
                    .col(ColumnDef::new(Bundles::Version).big_integer().not_null())
                    .col(ColumnDef::new(Bundles::Yaml).text().not_null())
                    .col(ColumnDef::new(Bundles::Hash).text().not_null())
                    .col(ColumnDef::new(Bundles::DeployedAt).text().not_null())
                    .primary_key(Index::create().col(Bundles::Id).col(Bundles::Version))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Cases::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Cases::CaseNo)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Cases::Bundle).text().not_null())
                    .col(ColumnDef::new(Cases::Version).big_integer().not_null())
                    .col(ColumnDef::new(Cases::Region).text().not_null())
                    .col(ColumnDef::new(Cases::Status).text().not_null())
                    .col(ColumnDef::new(Cases::Closed).boolean().not_null())
                    .col(ColumnDef::new(Cases::EventCount).big_integer().not_null())
                    .col(ColumnDef::new(Cases::AcceptedAt).text().null())
                    .col(
                        ColumnDef::new(Cases::IdempotencyKey)
                            .text()
                            .null()
                            .unique_key(),
                    )
                    .to_owned(),
            )
            .await?;
        // Recovery reads every open case; closed cases (the vast majority, over time) stay
        // out of this index.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("cases_open")
                    .table(Cases::Table)
                    .col(Cases::CaseNo)
                    .and_where(Expr::col(Cases::Closed).not())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Events::CaseNo).text().not_null())
                    .col(ColumnDef::new(Events::Seq).big_integer().not_null())
                    .col(ColumnDef::new(Events::At).text().not_null())
                    .col(ColumnDef::new(Events::Kind).text().not_null())
                    .col(ColumnDef::new(Events::Body).text().not_null())
                    .col(ColumnDef::new(Events::PrevHash).text().not_null())
                    .col(ColumnDef::new(Events::Hash).text().not_null())
                    .primary_key(Index::create().col(Events::CaseNo).col(Events::Seq))
                    .foreign_key(
                        ForeignKey::create()
                            .name("events_case")
                            .from(Events::Table, Events::CaseNo)
                            .to(Cases::Table, Cases::CaseNo),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
