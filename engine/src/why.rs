//! Why a case is waiting (`GET /v1/cases/{no}/why`): the units that hold it now, since when
//! and until when, and the rest of its critical path — the chain of items still to come
//! whose time limits, one after the other on the calendar, end last.

use jiff::Timestamp;
use serde::Serialize;

use crate::case::{CaseState, UnitStatus, Warning};
use crate::ids::TaskRef;
use crate::machine::time;

/// Why a case waits, at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Why {
    /// The case's status (`running`, `awaiting_supplement`, or its outcome).
    pub status: String,
    /// The applicant holds the case: a department asked for a supplement (补正).
    pub waiting_for_applicant: bool,
    /// The applicant's deadline for it.
    pub respond_by: Option<Timestamp>,
    /// The units the case waits on now (dispatched, supplement asked, suspended for a
    /// special step, waiting for a retry, or stopped by an incident).
    pub holding: Vec<Holder>,
    /// The items still to come after them on the longest remaining chain, in order
    /// (the holders' own items first).
    pub critical_path: Vec<String>,
    /// When the case ends if every item on that chain uses its whole time limit, counted on
    /// the calendar from now (an item without a limit counts none): the latest the
    /// departments have promised, not a forecast.
    pub completion_by_limits: Option<Timestamp>,
    /// The bundle's promised limit.
    pub due: Option<Timestamp>,
    /// Working days from today to `due` (0: due today; negative: overdue).
    pub working_days_left: Option<i64>,
    /// The case's warning colour.
    pub warning: Warning,
}

/// One unit holding a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holder {
    /// The unit (`licence`, `inspect[2]`).
    pub name: String,
    /// The item's title.
    pub title: String,
    /// Its department.
    pub department: String,
    /// The department's name for people, from the bundle's `guide.departments` (else its
    /// id).
    pub department_name: String,
    /// Its state.
    pub status: UnitStatus,
    /// Since when it holds the case (dispatched).
    pub since: Option<Timestamp>,
    /// Its time limit's end.
    pub due: Option<Timestamp>,
    /// Working days from today to `due`.
    pub working_days_left: Option<i64>,
    /// Its warning colour.
    pub warning: Warning,
}

fn holds(status: UnitStatus) -> bool {
    matches!(
        status,
        UnitStatus::Dispatched
            | UnitStatus::SupplementRequested
            | UnitStatus::Suspended
            | UnitStatus::RetryWait
            | UnitStatus::Incident
    )
}

/// Why `state` waits at `now`.
pub fn why(state: &CaseState, now: Timestamp) -> Why {
    let bp = &state.blueprint;
    let cal = state.calendar.as_deref();
    let left = |due: Option<Timestamp>| {
        let cal = cal?;
        cal.working_days_between(now, due?).ok()
    };
    let closed = state.is_closed();
    let holding: Vec<Holder> = if closed {
        Vec::new()
    } else {
        state
            .units()
            .filter(|(_, u)| holds(u.status))
            .map(|(r, u)| {
                let department = state
                    .department(r)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                (r, u, department)
            })
            .map(|(r, u, department)| Holder {
                name: r.name(bp),
                title: bp
                    .tasks
                    .get(r.task.index())
                    .filter(|_| r.kind(bp) != "rectify")
                    .map_or_else(|| r.kind(bp), |t| t.title.clone()),
                department_name: bp
                    .guide
                    .departments
                    .get(&department)
                    .cloned()
                    .unwrap_or_else(|| department.clone()),
                department,
                status: u.status,
                since: u.dispatched_at,
                due: u.due,
                working_days_left: left(u.due),
                warning: u.warning,
            })
            .collect()
    };
    // The remaining chain: each item not settled yet finishes when its limit, started when
    // its last unsettled upstream finishes (or now), ends; a dispatched one at its own due.
    let n = bp.tasks.len();
    let mut finish: Vec<Option<Timestamp>> = vec![None; n];
    let mut via: Vec<Option<usize>> = vec![None; n];
    if !closed {
        for idx in &bp.order {
            let i = idx.index();
            let (Some(spec), Some(task)) = (bp.tasks.get(i), state.tasks.get(i)) else {
                continue;
            };
            if task.unit.status.is_final() {
                continue;
            }
            let mut start = now;
            for up in &spec.upstream {
                if let Some(f) = finish[up.index()]
                    && f > start
                {
                    start = f;
                    via[i] = Some(up.index());
                }
            }
            let end = match task.unit.status {
                s if holds(s) => task.unit.due.map_or(start, |d| d.max(start)),
                _ => spec
                    .time_limit
                    .and_then(|l| time::deadline(cal, start, l, &[]))
                    .unwrap_or(start),
            };
            finish[i] = Some(end.max(start));
        }
    }
    let last = (0..n)
        .filter(|&i| finish[i].is_some())
        .max_by_key(|&i| (finish[i], std::cmp::Reverse(i)));
    let mut critical_path = Vec::new();
    let mut at = last;
    while let Some(i) = at {
        critical_path.push(TaskRef::task(bp.tasks[i].idx).name(bp));
        at = via[i];
    }
    critical_path.reverse();
    Why {
        status: state.status().to_owned(),
        waiting_for_applicant: !closed && state.awaiting_supplement(),
        respond_by: state.respond_by,
        holding,
        critical_path,
        completion_by_limits: last.and_then(|i| finish[i]),
        due: state.due,
        working_days_left: if closed { None } else { left(state.due) },
        warning: state.warning,
    }
}
