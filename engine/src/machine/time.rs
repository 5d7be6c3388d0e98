//! Time limits and timers, all computed in `decide` and recorded in events.
//!
//! Limits count on the bundle's working-day calendar (受理次日起算: the start day is not
//! counted; the limit ends at 24:00 of the last day). Paused time (补正, 特殊环节) does not
//! count. Timers are not stored separately: they are read off the state ([`next_timer`]),
//! and the runtime sends a `Tick` when the next one is due, which fires everything due then.

use jiff::{SignedDuration, Timestamp};
use yijian_definitions::{Duration, DurationUnit, TaskMode, Warn};

use super::Decider;
use crate::calendar::Calendar;
use crate::case::{CaseState, Outcome, Phase, Unit, UnitStatus, Warning};
use crate::event::{CancelCause, EventKind};
use crate::ids::{Actor, Part, TaskRef};

/// A unit's or the case's clock: due times and the yellow warning time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Clocked {
    pub(crate) due: Option<Timestamp>,
    pub(crate) statutory_due: Option<Timestamp>,
    pub(crate) warn_at: Option<Timestamp>,
}

/// Pauses with any open one closed at `now` (when a clock is about to run again).
fn closed_at(
    pauses: &[(Timestamp, Option<Timestamp>)],
    now: Timestamp,
) -> Vec<(Timestamp, Option<Timestamp>)> {
    pauses
        .iter()
        .map(|&(p, r)| (p, Some(r.unwrap_or(now))))
        .collect()
}

/// When a limit of `limit` started at `start` ends, pauses excluded; `None` when the
/// calendar is unknown or does not reach that far (never a weekends-only guess).
pub(crate) fn deadline(
    cal: Option<&Calendar>,
    start: Timestamp,
    limit: Duration,
    pauses: &[(Timestamp, Option<Timestamp>)],
) -> Option<Timestamp> {
    if pauses.iter().any(|(_, r)| r.is_none()) {
        return None;
    }
    match limit.unit {
        DurationUnit::WorkingDays => cal?
            .due_with_pauses(start, limit.amount, pauses)
            .ok()
            .flatten(),
        DurationUnit::Days => {
            let cal = cal?;
            // Paused calendar days are added back: the days after the pause day up to and
            // including the resume day, as for working days.
            let mut extra: i64 = 0;
            for &(p, r) in pauses {
                let r = r?;
                let from = cal.local_date(p);
                let to = cal.local_date(r);
                extra += (to - from).get_days().max(0) as i64;
            }
            let n = u32::try_from(i64::from(limit.amount) + extra).ok()?;
            cal.due_after_calendar_days(start, n).ok()
        }
        _ => {
            let mut total = SignedDuration::try_from(limit.as_std()?).ok()?;
            for &(p, r) in pauses {
                total = total.checked_add(r?.duration_since(p))?;
            }
            start.checked_add(total).ok()
        }
    }
}

/// When the yellow warning fires for a limit ending at `due`.
fn warn_time(
    cal: Option<&Calendar>,
    start: Timestamp,
    due: Timestamp,
    warn: Warn,
) -> Option<Timestamp> {
    match warn {
        Warn::Percent(p) => {
            let span = due.duration_since(start);
            start
                .checked_add(span.checked_mul(i32::from(p))?.checked_div(100)?)
                .ok()
        }
        Warn::Before(d) => match d.unit {
            DurationUnit::WorkingDays => {
                // Yellow on the working day(s) before the due day (domain rule 5): from the
                // start of that day.
                let cal = cal?;
                let mut day = cal.local_date(due);
                for _ in 0..d.amount {
                    day = cal.previous_working_day(day).ok()?;
                }
                cal.end_of_day(day)
                    .ok()?
                    .checked_sub(SignedDuration::from_secs(86_399))
                    .ok()
            }
            DurationUnit::Days => due
                .checked_sub(SignedDuration::from_hours(24 * i64::from(d.amount)))
                .ok(),
            _ => due
                .checked_sub(SignedDuration::try_from(d.as_std()?).ok()?)
                .ok(),
        },
    }
}

/// The clock of a unit started at `start` with these pauses (any open one closed at `now`).
pub(crate) fn unit_clock(
    state: &CaseState,
    r: TaskRef,
    start: Timestamp,
    pauses: &[(Timestamp, Option<Timestamp>)],
    now: Timestamp,
) -> Clocked {
    let bp = &state.blueprint;
    let cal = state.calendar.as_deref();
    let pauses = closed_at(pauses, now);
    let (limit, statutory, warn) = match r.part {
        Part::Rectification => (
            Some(bp.evaluation.rectify_within),
            None,
            Warn::Before(Duration::working_days(1)),
        ),
        Part::Verification => {
            let spec = bp.spec(r.task);
            let within = match &spec.mode {
                TaskMode::Commitment { verify_within } | TaskMode::Decide { verify_within, .. } => {
                    *verify_within
                }
                _ => None,
            };
            (within.or(bp.task_limit(r.task)), None, spec.warn)
        }
        _ => {
            let spec = bp.spec(r.task);
            (
                bp.task_limit(r.task),
                spec.statutory_limit.or(bp.statutory_limit),
                spec.warn,
            )
        }
    };
    let due = limit.and_then(|l| deadline(cal, start, l, &pauses));
    Clocked {
        due,
        statutory_due: statutory.and_then(|l| deadline(cal, start, l, &pauses)),
        warn_at: due.and_then(|d| warn_time(cal, start, d, warn)),
    }
}

/// Does the unit have a limit at all (own, the bundle's, or a rectification's)?
pub(crate) fn has_limit(state: &CaseState, r: TaskRef) -> bool {
    match r.part {
        Part::Rectification => true,
        _ => state.blueprint.task_limit(r.task).is_some(),
    }
}

/// The bundle's clock from acceptance, with its pauses (any open one closed at `now`).
pub(crate) fn case_clock(state: &CaseState, accepted: Timestamp, now: Timestamp) -> Clocked {
    let bp = &state.blueprint;
    let cal = state.calendar.as_deref();
    let pauses = closed_at(&state.pauses, now);
    let due = bp
        .time_limit
        .and_then(|l| deadline(cal, accepted, l, &pauses));
    Clocked {
        due,
        statutory_due: bp
            .statutory_limit
            .and_then(|l| deadline(cal, accepted, l, &pauses)),
        warn_at: due
            .and_then(|d| warn_time(cal, accepted, d, Warn::Before(Duration::working_days(1)))),
    }
}

/// The applicant's deadline for a supplement request made at `now`.
pub(crate) fn respond_by(state: &CaseState, now: Timestamp) -> Option<Timestamp> {
    deadline(
        state.calendar.as_deref(),
        now,
        state.blueprint.supplement.respond_within,
        &[],
    )
}

/// Is the unit's clock running (so it can warn)?
fn clock_runs(u: &Unit) -> bool {
    matches!(
        u.status,
        UnitStatus::Dispatched | UnitStatus::RetryWait | UnitStatus::Incident
    )
}

/// Deadlines act once the due time has passed (the due instant is 23:59:59 of the due
/// day, so this is 24:00): red warnings, abandonment, overdue materials.
fn red_at(due: Timestamp) -> Timestamp {
    due.checked_add(SignedDuration::from_secs(1)).unwrap_or(due)
}

/// The next instant a timer of this case fires, if any.
pub fn next_timer(state: &CaseState) -> Option<Timestamp> {
    let mut next: Option<Timestamp> = None;
    let mut at = |t: Option<Timestamp>| {
        if let Some(t) = t {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
    };
    let running = state.phase == Phase::Running;
    for (r, u) in state.units() {
        if !running && r.part == Part::Main {
            continue;
        }
        if u.status == UnitStatus::RetryWait {
            at(u.retry_at);
        }
        if let Some(l) = &u.lease
            && !u.status.is_final()
        {
            at(l.expires_at);
        }
        if clock_runs(u) {
            if u.warning < Warning::Yellow {
                at(u.warn_at);
            }
            if u.warning < Warning::Red {
                at(u.due.map(red_at));
            }
        }
    }
    if running {
        if state.awaiting_supplement() {
            at(state.respond_by.map(red_at));
        }
        for m in state.materials.values() {
            if m.deferred && !m.overdue {
                at(m.due.map(red_at));
            }
        }
        if state.pauses.iter().all(|(_, r)| r.is_some()) {
            if state.warning < Warning::Yellow {
                at(state.warn_at);
            }
            if state.warning < Warning::Red {
                at(state.due.map(red_at));
            }
        }
    }
    next
}

/// Fires everything due at `now`: retries, the supplement deadline, deferred materials,
/// warnings.
pub(crate) fn tick(d: &mut Decider<'_>) {
    let now = d.now;
    if d.state.phase == Phase::Running {
        // 补正 not answered in time: the case is abandoned.
        if d.state.awaiting_supplement() && d.state.respond_by.is_some_and(|t| red_at(t) <= now) {
            abandon(d);
            return;
        }
        deferred_overdue(d);
    }
    let retries: Vec<TaskRef> = d
        .state
        .units()
        .filter(|(_, u)| u.status == UnitStatus::RetryWait && u.retry_at.is_some_and(|t| t <= now))
        .map(|(r, _)| r)
        .collect();
    for r in retries {
        let element = super::schedule::element_of(d, r);
        super::schedule::start_unit(d, r, element.as_ref(), &Actor::Engine);
    }
    // Leases not extended in time: the units go back to their queues.
    let expired: Vec<(TaskRef, u64)> = d
        .state
        .units()
        .filter(|(_, u)| !u.status.is_final())
        .filter_map(|(r, u)| {
            u.lease
                .as_ref()
                .filter(|l| !l.is_live(now))
                .map(|l| (r, l.token))
        })
        .collect();
    for (r, token) in expired {
        d.emit(
            &Actor::Engine,
            None,
            EventKind::LeaseExpired { task: r, token },
        );
    }
    warnings(d);
}

fn warnings(d: &mut Decider<'_>) {
    let now = d.now;
    let running = d.state.phase == Phase::Running;
    let mut fire: Vec<(TaskRef, Warning, Option<Timestamp>)> = Vec::new();
    for (r, u) in d.state.units() {
        if (!running && r.part == Part::Main) || !clock_runs(u) {
            continue;
        }
        if u.warning < Warning::Red && u.due.is_some_and(|t| red_at(t) <= now) {
            fire.push((r, Warning::Red, u.due));
        } else if u.warning < Warning::Yellow && u.warn_at.is_some_and(|t| t <= now) {
            fire.push((r, Warning::Yellow, u.due));
        }
    }
    for (r, level, due) in fire {
        d.emit(
            &Actor::Engine,
            None,
            EventKind::Warning {
                task: Some(r),
                level,
                due,
            },
        );
    }
    if running && d.state.pauses.iter().all(|(_, r)| r.is_some()) {
        let (due, warn_at, level) = (d.state.due, d.state.warn_at, d.state.warning);
        if level < Warning::Red && due.is_some_and(|t| red_at(t) <= now) {
            d.emit(
                &Actor::Engine,
                None,
                EventKind::Warning {
                    task: None,
                    level: Warning::Red,
                    due,
                },
            );
        } else if level < Warning::Yellow && warn_at.is_some_and(|t| t <= now) {
            d.emit(
                &Actor::Engine,
                None,
                EventKind::Warning {
                    task: None,
                    level: Warning::Yellow,
                    due,
                },
            );
        }
    }
}

/// The applicant did not answer the supplement notice in time.
fn abandon(d: &mut Decider<'_>) {
    let open: Vec<TaskRef> = d
        .state
        .units()
        .filter(|(r, u)| {
            r.part == Part::Main && !u.status.is_final() && u.status != UnitStatus::Waiting
        })
        .map(|(r, _)| r)
        .collect();
    let reason = "补正期限届满，申请人未补正".to_owned();
    for r in open {
        d.emit(
            &Actor::Engine,
            Some(reason.clone()),
            EventKind::TaskCancelled {
                task: r,
                cause: CancelCause::Abandoned,
            },
        );
    }
    let waiting: Vec<TaskRef> = d
        .state
        .tasks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.unit.status == UnitStatus::Waiting)
        .map(|(i, _)| TaskRef::task(yijian_definitions::TaskIdx(i as u32)))
        .collect();
    for r in waiting {
        d.emit(
            &Actor::Engine,
            Some(reason.clone()),
            EventKind::TaskCancelled {
                task: r,
                cause: CancelCause::Abandoned,
            },
        );
    }
    super::schedule::maybe_close(d, Some(Outcome::Abandoned));
}

/// Deferred materials (容缺) whose due time passed.
fn deferred_overdue(d: &mut Decider<'_>) {
    let now = d.now;
    let overdue: Vec<String> = d
        .state
        .materials
        .iter()
        .filter(|(_, m)| m.deferred && !m.overdue && m.due.is_some_and(|t| red_at(t) <= now))
        .map(|(k, _)| k.clone())
        .collect();
    let escalate =
        d.state.blueprint.on_deferred_overdue == yijian_definitions::OnDeferredOverdue::Escalate;
    for material in overdue {
        d.emit(
            &Actor::Engine,
            None,
            EventKind::MaterialOverdue {
                material: material.clone(),
                escalated: escalate,
            },
        );
        if escalate {
            if d.state.warning < Warning::Red {
                d.emit(
                    &Actor::Engine,
                    Some(format!("容缺材料 `{material}` 逾期未补交")),
                    EventKind::Warning {
                        task: None,
                        level: Warning::Red,
                        due: d.state.due,
                    },
                );
            }
            continue;
        }
        let bp = d.state.blueprint.clone();
        for spec in &bp.tasks {
            if !spec.materials.contains(&material) {
                continue;
            }
            let t = &d.state.tasks[spec.idx.index()];
            if t.unit.status.is_final() {
                continue;
            }
            d.emit(
                &Actor::Engine,
                Some(format!("容缺材料 `{material}` 逾期未补交，终止办理")),
                EventKind::TaskTerminated {
                    task: TaskRef::task(spec.idx),
                    material: material.clone(),
                },
            );
        }
    }
    if !escalate {
        super::schedule::schedule(d);
    }
}
