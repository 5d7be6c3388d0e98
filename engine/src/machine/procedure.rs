//! The government procedures around the decisions: 告知承诺 revocation, 特殊环节 resume,
//! the case clock after a case-wide 补正, and 好差评.

use serde_json::Value;

use super::schedule::start_unit;
use super::{Decider, time};
use crate::case::{Evaluation, UnitStatus};
use crate::command::Action;
use crate::event::EventKind;
use crate::ids::{Actor, Part, TaskRef};
use crate::rejection::{Rejection, Result};

/// Commands that still apply to a closed case: decisions on verifications (告知承诺) and
/// rectifications (好差评): their queue leases, special steps, technical failures and retries.
pub(crate) fn after_close(action: &Action) -> bool {
    let task = match action {
        Action::Approve { task, .. }
        | Action::Refuse { task, .. }
        | Action::Fail { task, .. }
        | Action::Dispatch { task }
        | Action::Cancel { task, .. }
        | Action::Lease { task, .. }
        | Action::Heartbeat { task, .. }
        | Action::Accept { task, .. }
        | Action::Suspend { task, .. }
        | Action::Resume { task } => task,
        _ => return false,
    };
    task.part != Part::Main
}

/// A failed verification revokes the grant, also after the case closed; the documents that
/// read the task are named and withdrawn from the result.
pub(crate) fn revoke(d: &mut Decider<'_>, actor: &Actor, verification: TaskRef, reason: String) {
    let bp = d.state.blueprint.clone();
    let id = &bp.spec(verification.task).id;
    let documents: Vec<String> = bp
        .documents
        .iter()
        .filter(|(name, expr)| expr.reads_task(id) && d.state.documents.contains_key(name.as_str()))
        .map(|(name, _)| name.clone())
        .collect();
    d.emit(
        actor,
        Some(reason),
        EventKind::TaskRevoked {
            task: TaskRef::task(verification.task),
            documents,
        },
    );
}

/// The special step is over: the clock runs again, the suspended days excluded.
pub(crate) fn resume(d: &mut Decider<'_>, actor: &Actor, r: TaskRef) {
    let now = d.now;
    let Some(u) = d.state.unit(r) else { return };
    let clock = time::unit_clock(d.state, r, u.dispatched_at.unwrap_or(now), &u.pauses, now);
    d.emit(
        actor,
        None,
        EventKind::TaskResumed {
            task: r,
            due: clock.due,
            statutory_due: clock.statutory_due,
            warn_at: clock.warn_at,
        },
    );
}

/// After a case-wide 补正 (`supplement.pause: case`): the other open tasks and the bundle's
/// clock run again with the paused days excluded.
pub(crate) fn resume_case(d: &mut Decider<'_>) {
    let now = d.now;
    let paused: Vec<TaskRef> = d
        .state
        .units()
        .filter(|(_, u)| {
            u.status.is_open()
                && u.status != UnitStatus::Suspended
                && u.pauses.iter().any(|(_, r)| r.is_none())
        })
        .map(|(r, _)| r)
        .collect();
    for r in paused {
        resume(d, &Actor::Engine, r);
    }
    if let Some(accepted) = d.state.accepted_at {
        let clock = time::case_clock(d.state, accepted, now);
        d.emit(
            &Actor::Engine,
            None,
            EventKind::CaseDueChanged {
                due: clock.due,
                statutory_due: clock.statutory_due,
                warn_at: clock.warn_at,
            },
        );
    }
}

/// 好差评: a grade on a closed case; 不满意 or worse opens a rectification task for the
/// department at fault (the one named, else the bundle's lead department — its first task's).
pub(crate) fn evaluate(
    d: &mut Decider<'_>,
    actor: &Actor,
    grade: u8,
    department: Option<&str>,
    comment: &str,
) -> Result<()> {
    if !(1..=5).contains(&grade) {
        return Err(Rejection::InvalidGrade { grade });
    }
    let bp = d.state.blueprint.clone();
    let named = match department {
        Some(dep) => Some(
            bp.tasks
                .iter()
                .find(|t| &*t.department == dep)
                .map(|t| t.department.clone())
                .ok_or_else(|| Rejection::UnknownDepartment {
                    department: dep.to_owned(),
                })?,
        ),
        None => None,
    };
    let rectification = if grade <= 2 {
        named
            .clone()
            .or_else(|| bp.tasks.first().map(|t| t.department.clone()))
    } else {
        None
    };
    let evaluation = Evaluation {
        grade,
        department: department.map(str::to_owned),
        comment: comment.to_owned(),
    };
    let opens = rectification.is_some();
    d.emit(
        actor,
        None,
        EventKind::Evaluated {
            evaluation,
            rectification,
        },
    );
    if opens {
        let n = d.state.rectifications.len().saturating_sub(1) as u32;
        start_unit(d, TaskRef::rectification(n), None::<&Value>, &Actor::Engine);
    }
    Ok(())
}
