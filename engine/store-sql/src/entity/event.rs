//! `events`: the append-only, hash-chained event log.

use sea_orm::entity::prelude::*;

/// One event of a case.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) case_no: String,
    /// 1 for the case's first event.
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) seq: i64,
    /// RFC 3339, UTC, nine fractional digits (a copy of the body's `at`, for queries).
    pub(crate) at: String,
    /// The event's snake_case name (a copy from the body, for queries).
    pub(crate) kind: String,
    /// The event as JSON: the authoritative content, covered by `hash`.
    #[sea_orm(column_type = "Text")]
    pub(crate) body: String,
    pub(crate) prev_hash: String,
    pub(crate) hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
