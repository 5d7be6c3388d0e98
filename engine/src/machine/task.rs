//! Commands on a running case: decisions, supplements, withdrawals, failures, retries.

use std::sync::Arc;

use yijian_definitions::{TaskMode, TaskSpec};

use super::Decider;
use super::schedule::{maybe_close, on_rejected, start_task, start_unit};
use crate::case::{Outcome, UnitStatus};
use crate::command::Action;
use crate::event::{CancelCause, EventKind};
use crate::ids::{Actor, TaskRef};
use crate::rejection::{Rejection, Result};
use crate::validate;

pub(crate) fn act(d: &mut Decider<'_>, actor: &Actor, action: &Action) -> Result<()> {
    match action {
        Action::Submit(_) => Err(Rejection::AlreadySubmitted),
        Action::Approve { task, output } => {
            let spec = unit(
                d,
                *task,
                actor,
                &[
                    UnitStatus::Dispatched,
                    UnitStatus::RetryWait,
                    UnitStatus::Incident,
                ],
                "approved",
            )?;
            let problems = validate::output(spec, output);
            if !problems.is_empty() {
                return Err(Rejection::InvalidOutput {
                    task: task.name(&d.state.blueprint),
                    problems,
                });
            }
            d.emit(
                actor,
                None,
                EventKind::TaskApproved {
                    task: *task,
                    output: Arc::new(output.clone()),
                },
            );
            Ok(())
        }
        Action::Refuse { task, reason } => {
            let open = [
                UnitStatus::Dispatched,
                UnitStatus::SupplementRequested,
                UnitStatus::RetryWait,
                UnitStatus::Incident,
            ];
            unit(d, *task, actor, &open, "refused")?;
            let reason = required_reason(reason)?;
            d.emit(actor, Some(reason), EventKind::TaskRejected { task: *task });
            on_rejected(d, *task);
            Ok(())
        }
        Action::RequestSupplement { task, missing } => {
            unit(
                d,
                *task,
                actor,
                &[UnitStatus::Dispatched],
                "asked for a supplement",
            )?;
            if missing.is_empty() {
                return Err(Rejection::NothingMissing);
            }
            let problems = validate::missing(&d.state.blueprint, missing);
            if !problems.is_empty() {
                return Err(Rejection::InvalidSupply { problems });
            }
            d.emit(
                actor,
                None,
                EventKind::SupplementRequested {
                    task: *task,
                    missing: missing.clone(),
                },
            );
            Ok(())
        }
        Action::Supply { form, materials } => {
            let waiting: Vec<TaskRef> = d
                .state
                .units()
                .filter(|(_, u)| u.status == UnitStatus::SupplementRequested)
                .map(|(r, _)| r)
                .collect();
            let deferred = d.state.materials.values().any(|m| m.deferred);
            if waiting.is_empty() && !deferred {
                return Err(Rejection::NothingToSupply);
            }
            let problems = validate::supply(d.state, form, materials);
            if !problems.is_empty() {
                return Err(Rejection::InvalidSupply { problems });
            }
            d.emit(
                actor,
                None,
                EventKind::Supplied {
                    form: form.clone(),
                    materials: materials.clone(),
                },
            );
            for r in waiting {
                let element = element_of(d, r);
                start_unit(d, r, element.as_ref(), &Actor::Engine);
            }
            Ok(())
        }
        Action::Withdraw {
            tasks: None,
            reason,
        } => {
            let reason = required_reason(reason)?;
            for i in 0..d.state.tasks.len() {
                if !d.state.tasks[i].unit.status.is_final() {
                    let r = TaskRef::task(yijian_definitions::TaskIdx(i as u32));
                    d.emit(
                        actor,
                        Some(reason.clone()),
                        EventKind::TaskWithdrawn { task: r },
                    );
                }
            }
            d.emit(actor, Some(reason), EventKind::CaseWithdrawn);
            maybe_close(d, Some(Outcome::Withdrawn));
            Ok(())
        }
        Action::Withdraw {
            tasks: Some(tasks),
            reason,
        } => {
            let reason = required_reason(reason)?;
            if tasks.is_empty() {
                return Err(Rejection::UnknownTask {
                    task: String::new(),
                });
            }
            // Every named task is checked before the first is withdrawn: all or nothing.
            let mut refs: Vec<TaskRef> = Vec::with_capacity(tasks.len());
            for r in tasks {
                let r = TaskRef::task(r.task);
                let name = r.name(&d.state.blueprint);
                let t = d
                    .state
                    .tasks
                    .get(r.task.index())
                    .ok_or(Rejection::UnknownTask { task: name.clone() })?;
                if t.unit.status.is_final() {
                    return Err(Rejection::TaskNotOpen {
                        task: name,
                        status: t.unit.status,
                        action: "withdrawn",
                    });
                }
                if !refs.contains(&r) {
                    refs.push(r);
                }
            }
            for r in refs {
                d.emit(
                    actor,
                    Some(reason.clone()),
                    EventKind::TaskWithdrawn { task: r },
                );
            }
            Ok(())
        }
        Action::Cancel { task, reason } => {
            let open = [
                UnitStatus::Waiting,
                UnitStatus::Dispatched,
                UnitStatus::SupplementRequested,
                UnitStatus::RetryWait,
                UnitStatus::Incident,
            ];
            unit(d, *task, actor, &open, "cancelled")?;
            let reason = required_reason(reason)?;
            d.emit(
                actor,
                Some(reason),
                EventKind::TaskCancelled {
                    task: *task,
                    cause: CancelCause::Operator,
                },
            );
            Ok(())
        }
        Action::Fail {
            task,
            error,
            retry_in,
        } => {
            let spec = unit(d, *task, actor, &[UnitStatus::Dispatched], "failed")?;
            let u = d.state.unit(*task).cloned().unwrap_or_default();
            let retry = spec.retry;
            let retry_at = if u.failures + 1 < retry.attempts {
                let wait = retry_in.unwrap_or_else(|| backoff(&retry, u.failures));
                let wait =
                    jiff::SignedDuration::try_from(wait).unwrap_or(jiff::SignedDuration::MAX);
                Some(d.now.checked_add(wait).unwrap_or(jiff::Timestamp::MAX))
            } else {
                None
            };
            d.emit(
                actor,
                None,
                EventKind::TaskFailed {
                    task: *task,
                    attempt: u.attempts,
                    error: error.clone(),
                    retry_at,
                },
            );
            Ok(())
        }
        Action::Dispatch { task } => {
            unit(
                d,
                *task,
                actor,
                &[UnitStatus::RetryWait, UnitStatus::Incident],
                "dispatched again",
            )?;
            let t = &d.state.tasks[task.task.index()];
            if task.instance.is_none() && t.instances.is_none() && t.unit.attempts == 0 {
                // The incident came before any dispatch (`when` or `for_each` could not be
                // evaluated): start the task over, conditions included.
                start_task(d, task.task, actor);
            } else {
                let element = element_of(d, *task);
                start_unit(d, *task, element.as_ref(), actor);
            }
            Ok(())
        }
    }
}

/// The element a fan-out instance runs on.
fn element_of(d: &Decider<'_>, r: TaskRef) -> Option<serde_json::Value> {
    let i = r.instance?;
    d.state.tasks[r.task.index()]
        .items
        .as_ref()?
        .get(i as usize)
        .cloned()
}

/// Exponential backoff: `min · 2^failures`, at most `max`.
fn backoff(retry: &yijian_definitions::model::RetryDef, failures: u32) -> std::time::Duration {
    let lo = retry
        .backoff_min
        .as_std()
        .unwrap_or(std::time::Duration::from_secs(1));
    let hi = retry.backoff_max.as_std().unwrap_or(lo);
    lo.checked_mul(1u32.checked_shl(failures.min(30)).unwrap_or(u32::MAX))
        .unwrap_or(hi)
        .min(hi)
}

fn required_reason(reason: &str) -> Result<String> {
    let r = reason.trim();
    if r.is_empty() {
        Err(Rejection::ReasonRequired)
    } else {
        Ok(r.to_owned())
    }
}

/// The unit a command names, checked: it exists, belongs to the acting department, and is
/// in one of the `allowed` states.
fn unit<'d>(
    d: &'d Decider<'_>,
    r: TaskRef,
    actor: &Actor,
    allowed: &[UnitStatus],
    action: &'static str,
) -> Result<&'d TaskSpec> {
    let bp = &d.state.blueprint;
    let name = r.name(bp);
    let spec = bp
        .tasks
        .get(r.task.index())
        .ok_or_else(|| Rejection::UnknownTask { task: name.clone() })?;
    if let Actor::Department(dep) = actor
        && **dep != *spec.department
    {
        return Err(Rejection::WrongDepartment {
            task: name,
            department: spec.department.to_string(),
        });
    }
    // A fanned-out task is decided per instance; before the fan-out (an incident while
    // evaluating `for_each`) the task as a whole can be retried or cancelled.
    let fanned_out = d.state.tasks[r.task.index()].instances.is_some();
    let whole_allowed = match action {
        "cancelled" => true,
        "dispatched again" => !fanned_out,
        _ => false,
    };
    if r.instance.is_none() && spec.for_each.is_some() && !whole_allowed {
        return Err(Rejection::InstanceRequired { task: name });
    }
    let u = d
        .state
        .unit(r)
        .ok_or_else(|| Rejection::UnknownTask { task: name.clone() })?;
    if !allowed.contains(&u.status) {
        return Err(Rejection::TaskNotOpen {
            task: name,
            status: u.status,
            action,
        });
    }
    if matches!(spec.mode, TaskMode::Auto { .. }) && matches!(actor, Actor::Department(_)) {
        return Err(Rejection::TaskNotOpen {
            task: name,
            status: u.status,
            action,
        });
    }
    Ok(spec)
}
