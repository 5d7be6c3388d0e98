//! Schema migrations, run by `SqlStore::connect`. One timestamped file per change; a
//! migration, once released, is never edited (add a new one instead).

mod m20261127_000001_create_tables;

use sea_orm_migration::prelude::*;

/// Every migration, oldest first.
pub(crate) struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261127_000001_create_tables::Migration)]
    }
}
