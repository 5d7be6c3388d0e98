//! What a commit leads to: dispatches and cancellation notices (effects), the work items
//! handed to adapters and queues, and the case summary written with each commit.

use std::sync::Arc;

use crate::adapter::{Work, WorkCancelled};
use crate::case::{CaseState, UnitStatus};
use crate::command::Action;
use crate::event::{Event, EventKind};
use crate::ids::TaskRef;
use crate::store::{CaseSummary, TaskLease, TaskRow};

/// What happens after a commit.
pub(super) enum Effect {
    Dispatch(Work),
    /// A lease expired: back to the department's queue (or adapter).
    Requeue(Work),
    Cancel(WorkCancelled),
}

pub(super) fn effects_of(state: &CaseState, events: &[Event]) -> Vec<Effect> {
    let mut out = Vec::new();
    for e in events {
        match &e.kind {
            EventKind::TaskDispatched {
                task,
                attempt,
                input,
                ..
            } => {
                out.push(Effect::Dispatch(work_of(
                    state,
                    *task,
                    *attempt,
                    input.clone(),
                    e.at,
                )));
            }
            EventKind::LeaseExpired { task, .. } => {
                if let Some(u) = state.unit(*task)
                    && u.status == UnitStatus::Dispatched
                {
                    let input = u.input.clone().unwrap_or_default();
                    let at = u.dispatched_at.unwrap_or(e.at);
                    out.push(Effect::Requeue(work_of(
                        state, *task, u.attempts, input, at,
                    )));
                }
            }
            EventKind::TaskCancelled { task, .. } | EventKind::TaskWithdrawn { task } => {
                let bp = &state.blueprint;
                // Only units a department has seen get a notice.
                let seen = state.unit(*task).is_some_and(|u| u.attempts > 0)
                    || state.tasks[task.task.index()].instances.is_some();
                if seen {
                    out.push(Effect::Cancel(WorkCancelled {
                        case_no: state.case_no.clone(),
                        task: *task,
                        name: task.name(bp),
                        department: state
                            .department(*task)
                            .cloned()
                            .unwrap_or_else(|| Arc::from("")),
                        region: state.region.clone(),
                        reason: e.reason.clone(),
                    }));
                }
            }
            _ => {}
        }
    }
    out
}

pub(crate) fn work_of(
    state: &CaseState,
    task: TaskRef,
    attempt: u32,
    input: Arc<serde_json::Value>,
    at: jiff::Timestamp,
) -> Work {
    let materials = match task.part {
        crate::ids::Part::Rectification => Vec::new(),
        _ => state
            .blueprint
            .spec(task.task)
            .materials
            .iter()
            .map(|m| {
                (
                    m.clone(),
                    state.materials.get(m).and_then(|s| s.file.clone()),
                )
            })
            .collect(),
    };
    Work {
        case_no: state.case_no.clone(),
        department: state
            .department(task)
            .cloned()
            .unwrap_or_else(|| Arc::from("")),
        region: state.unit_region(task).clone(),
        blueprint: state.blueprint.clone(),
        task,
        attempt,
        input,
        materials,
        dispatched_at: at,
        due: state.unit(task).and_then(|u| u.due),
        // Shown while the redo is open: the dispatch that follows a send-back.
        sent_back: state
            .unit(task)
            .and_then(|u| u.changed.as_ref())
            .and_then(|c| c.sent_back.clone())
            .filter(|_| task.part == crate::ids::Part::Main),
    }
}

/// How long a pushed unit is left to the node that dispatched it before any node delivers
/// it again.
pub(crate) const REDELIVER: jiff::SignedDuration = jiff::SignedDuration::from_secs(30);

/// What the task table holds of a unit, to tell which units a command changed.
#[derive(PartialEq)]
pub(super) struct Mark {
    status: UnitStatus,
    lease: Option<(u64, Option<jiff::Timestamp>)>,
    dispatched_at: Option<jiff::Timestamp>,
    due: Option<jiff::Timestamp>,
    warning: crate::case::Warning,
    region: Option<Arc<str>>,
}

/// Every unit's mark, in the case's unit order.
pub(super) fn marks_of(state: &CaseState) -> Vec<(TaskRef, Mark)> {
    state
        .units()
        .map(|(r, u)| {
            (
                r,
                Mark {
                    status: u.status,
                    lease: u.lease.as_ref().map(|l| (l.token, l.expires_at)),
                    dispatched_at: u.dispatched_at,
                    due: u.due,
                    warning: u.warning,
                    region: u.changed.as_ref().and_then(|c| c.region.clone()),
                },
            )
        })
        .collect()
}

/// The rows of the units whose marks differ from `before` (every unit when `before` is
/// `None`: a new case).
/// `pushed(department)` tells whether the department's adapter takes the case's units.
pub(super) fn rows_of(
    state: &CaseState,
    before: Option<&[(TaskRef, Mark)]>,
    pushed: impl Fn(&str) -> bool,
) -> Vec<TaskRow> {
    let after = marks_of(state);
    // Units keep their order from one commit to the next, so a unit's old mark is
    // usually at its own position: looked up there first, searched only when a fan-out
    // moved it (a bundle of N tasks would otherwise cost N² per command).
    let unchanged = |i: usize, r: &TaskRef, m: &Mark| {
        before.is_some_and(|b| match b.get(i) {
            Some((br, bm)) if br == r => bm == m,
            _ => b.iter().any(|(br, bm)| br == r && bm == m),
        })
    };
    after
        .into_iter()
        .enumerate()
        .filter(|(i, (r, m))| !unchanged(*i, r, m))
        .map(|(_, x)| x)
        .filter_map(|(r, _)| {
            let u = state.unit(r)?;
            let department = state.department(r)?.clone();
            let pushed = pushed(&department);
            // A pushed unit is held for its dispatching node to deliver; past the hold, any
            // node delivers it again (the outbox).
            let hold_until = (pushed && u.status == UnitStatus::Dispatched && u.lease.is_none())
                .then(|| u.dispatched_at.and_then(|t| t.checked_add(REDELIVER).ok()))
                .flatten();
            let region = state.unit_region(r);
            Some(TaskRow {
                region: (!Arc::ptr_eq(region, &state.region)).then(|| region.clone()),
                task: r,
                kind: Arc::from(r.kind(&state.blueprint)),
                pushed,
                hold_until,
                department,
                state: u.status,
                // A dispatched unit is always fetchable once free, even if its dispatch time
                // were missing.
                ready_at: (u.status == UnitStatus::Dispatched)
                    .then(|| u.dispatched_at.unwrap_or(jiff::Timestamp::UNIX_EPOCH)),
                lease: u.lease.as_ref().map(|l| TaskLease {
                    token: l.token,
                    owner: l.worker.clone(),
                    expires_at: l.expires_at,
                }),
                due: u.due,
                warning: u.warning,
            })
        })
        .collect()
}

pub(super) fn summary_of(state: &CaseState, next_timer: Option<jiff::Timestamp>) -> CaseSummary {
    CaseSummary {
        case_no: state.case_no.clone(),
        bundle: state.blueprint.id.clone(),
        version: state.blueprint.version,
        region: state.region.clone(),
        status: std::borrow::Cow::Borrowed(state.status()),
        closed: state.is_closed(),
        event_count: state.version,
        accepted_at: state.accepted_at,
        next_timer,
        warning: state.warning,
        due: state.due,
        channel: state.channel.clone(),
    }
}

pub(super) fn region_of(action: &Action) -> &str {
    match action {
        Action::Submit(s) | Action::Propose { submission: s, .. } => &s.region,
        _ => "",
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
