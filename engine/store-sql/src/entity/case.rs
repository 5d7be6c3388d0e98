//! `cases`: one row per case, its current summary. `event_count` is the case's version,
//! used for optimistic concurrency.

use sea_orm::entity::prelude::*;

/// A case's summary.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) case_no: String,
    pub(crate) bundle: String,
    pub(crate) version: i64,
    pub(crate) region: String,
    pub(crate) status: String,
    pub(crate) closed: bool,
    pub(crate) event_count: i64,
    /// RFC 3339, UTC, nine fractional digits.
    pub(crate) accepted_at: Option<String>,
    #[sea_orm(unique)]
    pub(crate) idempotency_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
