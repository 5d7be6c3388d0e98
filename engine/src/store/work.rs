//! The store's work tables: the task rows department queues are read from, each case's
//! next timer, and the searches, listings and gauges that nodes answer from the store
//! instead of from memory.
//!
//! Every row here is written by [`super::EventLog::append`] in the same transaction as the
//! case's events: a commit carries the rows of the units it changed ([`TaskRow`]) and the
//! case's next timer and warning in its [`super::CaseSummary`]. Claims are the only other
//! writes: a short hold on a row (`locked_until`) so that two nodes do not both try to lease
//! the same unit or fire the same timer. A claim decides nothing: the lease or the tick is
//! a command of the case, written with the case's version check, so a unit is never leased
//! twice and a timer never fires twice even if two claims overlapped.

use std::future::Future;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use super::{CaseSummary, Result};
use crate::case::{UnitStatus, Warning};
use crate::ids::{CaseNo, TaskRef};

/// A unit (task, `for_each` instance, verification, rectification) as the store's task
/// table holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    /// The unit.
    pub task: TaskRef,
    /// Its department.
    pub department: Arc<str>,
    /// The region whose department handles it when not the case's (reassigned, 改派);
    /// fetches and the board count it there.
    pub region: Option<Arc<str>>,
    /// Its kind of work ([`TaskRef::kind`]): what a fetch narrowed to tasks matches on.
    pub kind: Arc<str>,
    /// Its state.
    pub state: UnitStatus,
    /// When it was handed to its department; `Some` only while it is dispatched (waiting
    /// to be fetched, or leased).
    pub ready_at: Option<Timestamp>,
    /// Its lease, while one is held.
    pub lease: Option<TaskLease>,
    /// Its promised due time.
    pub due: Option<Timestamp>,
    /// Its warning level.
    pub warning: Warning,
    /// Handed to an adapter (pushed to a webhook) rather than left to the department's
    /// queue: not fetchable; a delivery owed until answered (the outbox), handed over again
    /// by any node once `hold_until` has passed.
    pub pushed: bool,
    /// Until when the unit is held without a lease: for a pushed unit, the time its
    /// dispatching node has to deliver it before another node delivers it again.
    pub hold_until: Option<Timestamp>,
}

impl TaskRow {
    /// Until when the unit cannot be claimed: its lease's expiry ([`Timestamp::MAX`] for an
    /// accepted claim: 受理 never expires) or its hold, the later; `None` when neither.
    pub fn locked_until(&self) -> Option<Timestamp> {
        let lease = self
            .lease
            .as_ref()
            .map(|l| l.expires_at.unwrap_or(Timestamp::MAX));
        lease.max(self.hold_until)
    }
}

/// A lease as the task table holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLease {
    /// The fencing token.
    pub token: u64,
    /// The worker holding it.
    pub owner: String,
    /// When it expires; `None` once the department accepted the unit.
    pub expires_at: Option<Timestamp>,
}

/// A fetch's claim on a department's ready units.
#[derive(Debug, Clone)]
pub struct ReadyClaim {
    /// The department.
    pub department: String,
    /// Only cases whose region code starts with this.
    pub scope: Option<String>,
    /// The time of the claim: units whose lease or claim ended by then are free.
    pub now: Timestamp,
    /// Until when the claimed units are held for the claimer (it leases them meanwhile).
    pub hold_until: Timestamp,
    /// At most this many.
    pub limit: usize,
    /// Claim pushed units (deliveries owed, see [`TaskRow::pushed`]) instead of queued ones.
    pub pushed: bool,
    /// Only units of these kinds ([`TaskRow::kind`]); empty: every kind.
    pub kinds: Vec<String>,
}

/// A unit a claim returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The case.
    pub case_no: CaseNo,
    /// The unit.
    pub task: TaskRef,
}

/// A department's queue at a glance (for metrics and supervisors).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueDepth {
    /// The department.
    pub department: String,
    /// Units waiting to be fetched.
    pub depth: usize,
    /// When the oldest of them was dispatched.
    pub oldest: Option<Timestamp>,
}

/// What a case search asks for. Every filter is optional; results are newest first (by
/// creation time, then case number, both descending).
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// Cases whose region code starts with this (the caller's region subtree).
    pub region: Option<String>,
    /// One bundle.
    pub bundle: Option<String>,
    /// One status (`running`, `awaiting_supplement`, or an outcome).
    pub status: Option<String>,
    /// One warning level, of open cases.
    pub warning: Option<Warning>,
    /// Cases with a unit of this department.
    pub department: Option<String>,
    /// Cases with a unit in this state (with `department`: a unit of that department).
    pub task_state: Option<UnitStatus>,
    /// Cases with a unit of this kind ([`TaskRow::kind`]: a task id, `<task>.verify`,
    /// `rectify`); with `department` or `task_state`, the same unit.
    pub task_kind: Option<String>,
    /// Cases taken on this channel (`window`, `portal`…).
    pub channel: Option<String>,
    /// Keyset pagination: only cases created before this one (the last of the previous
    /// page). An unknown case gives an empty page.
    pub before: Option<CaseNo>,
    /// Skip this many matches first (offset pagination; prefer `before`).
    pub offset: usize,
    /// At most this many.
    pub limit: usize,
    /// Also count the matches, up to [`CaseQuery::MAX_COUNT`] (a second query, bounded so
    /// that it stays cheap on a store of millions of cases).
    pub count: bool,
}

impl CaseQuery {
    /// The most matches a search counts: a `total` of this many means "this many or more".
    pub const MAX_COUNT: u64 = 10_000;
}

/// A page of a search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CasePage {
    /// The cases, newest first.
    pub cases: Vec<CaseSummary>,
    /// The matches, when counted: at most [`CaseQuery::MAX_COUNT`].
    pub total: Option<u64>,
}

/// Counts for gauges.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    /// Cases by status.
    pub cases: Vec<(String, u64)>,
    /// Units not settled (final states are not counted), by department and state.
    pub tasks: Vec<(String, UnitStatus, u64)>,
    /// Open cases by warning level (yellow and red).
    pub warnings: Vec<(Warning, u64)>,
    /// Cases by the channel that took them (`""` for cases without one recorded).
    pub channels: Vec<(String, u64)>,
}

/// The supervisor's board (电子监察) within a region subtree: open cases and unsettled units
/// with a warning, counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Board {
    /// Open cases by warning level (yellow, red).
    pub cases: Vec<(Warning, u64)>,
    /// Unsettled units with a warning, by department and level.
    pub tasks: Vec<(String, Warning, u64)>,
}

/// Called with a department's name when a unit of it became ready on another node.
pub type ReadyHook = Arc<dyn Fn(&str) + Send + Sync>;

/// Queues, timers, searches and gauges, answered by the store.
///
/// # Contract
/// - The rows are those of the last commit of each case: a unit's row is what the last
///   commit that carried it said, the case's timer and warning what its last summary said.
/// - A unit is *ready* when its row has `ready_at`, is not `pushed`, and is not locked at
///   `now`: no lease, or
///   a lease that expired by `now`, and no claim held past `now`. `claim_ready` returns up
///   to `limit` ready units of the department, oldest `ready_at` first, and holds them until
///   `hold_until`; concurrent claims never return the same unit while its hold lasts. A
///   commit that carries the unit's row ends the hold (its lease, if any, locks it instead).
/// - A case's timer is *due* when its summary's `next_timer` is at or before `now` and no
///   claim on it is held past `now`. `claim_timers` returns due timers, earliest first, and
///   holds them until `hold_until`; the next commit of the case ends the hold.
pub trait WorkStore: Send + Sync + 'static {
    /// Claims ready units; see the contract.
    fn claim_ready(&self, claim: &ReadyClaim) -> impl Future<Output = Result<Vec<Claimed>>> + Send;

    /// Claims due timers: `(case, when it is due)`; see the contract.
    fn claim_timers(
        &self,
        now: Timestamp,
        hold_until: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(CaseNo, Timestamp)>>> + Send;

    /// The earliest timer of any case, claimed or not.
    fn next_timer(&self) -> impl Future<Output = Result<Option<Timestamp>>> + Send;

    /// Every department with ready units at `now`: how many, and the oldest `ready_at`.
    fn queue_depths(&self, now: Timestamp) -> impl Future<Output = Result<Vec<QueueDepth>>> + Send;

    /// Dispatched units not leased at `now` that are pushed (see [`TaskRow::pushed`]) or
    /// belong to one of `departments` (bound to an adapter since they were dispatched),
    /// oldest first, at most `limit`: handed to their adapters again after a restart.
    fn dispatched(
        &self,
        departments: &[String],
        now: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Claimed>>> + Send;

    /// A case's version (its event count); `None` if unknown.
    fn version(&self, case_no: &CaseNo) -> impl Future<Output = Result<Option<u64>>> + Send;

    /// Searches cases; see [`CaseQuery`].
    fn search(&self, query: &CaseQuery) -> impl Future<Output = Result<CasePage>> + Send;

    /// Counts for gauges.
    fn gauges(&self) -> impl Future<Output = Result<Gauges>> + Send;

    /// The board of the cases whose region code starts with `region` (all: `""`): yellow
    /// and red open cases, and yellow and red unsettled units by department, both sorted.
    /// From indexes over the few warned rows, not a scan of every open case.
    fn board(&self, region: &str) -> impl Future<Output = Result<Board>> + Send;

    /// Open cases whose units have no rows yet, or rows without a [`TaskRow::kind`]
    /// (written by a version before the work tables, or before kinds), at most `limit`: the
    /// engine writes their rows at start. The default: none.
    fn unindexed(&self, limit: usize) -> impl Future<Output = Result<Vec<CaseNo>>> + Send {
        let _ = limit;
        async { Ok(Vec::new()) }
    }

    /// Asks to be told when a unit became ready through another node sharing the store
    /// (PostgreSQL `LISTEN/NOTIFY`). The default does nothing: a store only one engine
    /// writes to needs no such hook, and a lost notice costs a fetch one re-check.
    fn on_ready(&self, hook: ReadyHook) {
        let _ = hook;
    }
}
