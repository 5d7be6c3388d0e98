//! `cases`: one row per case, its current summary. `event_count` is the case's version,
//! used for optimistic concurrency. `created_at` and `created_events` describe the case's
//! first commit and never change.

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
    /// The `at` of the case's first event (RFC 3339 as `accepted_at`; empty for a case
    /// created without events): with `case_no`, the order of creation.
    pub(crate) created_at: String,
    /// How many events the case's first commit had; `None` for cases created before the
    /// column existed.
    pub(crate) created_events: Option<i64>,
    /// When the case's next timer is due.
    pub(crate) next_timer_at: Option<String>,
    /// Until when a node's claim holds that timer.
    pub(crate) timer_held_until: Option<String>,
    /// The case's warning level.
    pub(crate) warning: String,
    /// The case's promised due time.
    pub(crate) due_at: Option<String>,
    /// The channel that took the application; set when the case is created.
    pub(crate) channel: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
