//! Commands on a running case: decisions, supplements, withdrawals, failures, retries.
//! Special steps, evaluations and the closed-case rules are in `procedure`.

use std::sync::Arc;

use yijian_definitions::{TaskMode, TaskSpec};

use super::schedule::{element_of, maybe_close, on_rejected, start_task, start_unit};
use super::{Decider, time};
use super::{change, procedure};
use crate::case::{Outcome, UnitStatus};
use crate::command::Action;
use crate::event::{CancelCause, EventKind};
use crate::ids::{Actor, Part, TaskRef};
use crate::rejection::{Rejection, Result};
use crate::validate;

pub(crate) use procedure::{after_close, evaluate};

/// Statuses in which a department may still decide a unit.
const DECIDABLE: [UnitStatus; 3] = [
    UnitStatus::Dispatched,
    UnitStatus::RetryWait,
    UnitStatus::Incident,
];

pub(crate) fn act(
    d: &mut Decider<'_>,
    actor: &Actor,
    command: &crate::command::Command,
) -> Result<()> {
    let (action, lease) = (&command.action, command.lease);
    // A department acts only on units handled within its region (a unit reassigned away
    // from it, 改派, is no longer its).
    if let Some(scope) = &command.scope
        && matches!(actor, Actor::Department(_))
    {
        let named = match action {
            Action::SendBack { by, .. } => Some(*by),
            other => leased_task(other),
        };
        if let Some(task) = named {
            change::check_scope(d, task, scope)?;
        }
    }
    // A command under a lease must name the unit's current one (fencing).
    if let Some(token) = lease
        && let Some(task) = leased_task(action)
    {
        check_lease(d, task, token)?;
    }
    // An answer to an older dispatch of a unit dispatched again is stale.
    if let Some(attempt) = command.attempt
        && let Some(task) = leased_task(action)
        && let Some(u) = d.state.unit(task)
        && u.attempts != attempt
    {
        return Err(Rejection::StaleAttempt {
            task: task.name(&d.state.blueprint),
            given: attempt,
            current: u.attempts,
        });
    }
    match action {
        Action::Submit(_) | Action::Propose { .. } => Err(Rejection::AlreadySubmitted),
        Action::Confirm => Err(Rejection::NotProposed),
        Action::Evaluate { .. } => Err(Rejection::NotClosed),
        Action::Tick => Ok(()),
        Action::Lease {
            task,
            worker,
            until,
        } => {
            unit(d, *task, actor, &[UnitStatus::Dispatched], "leased")?;
            let u = d.state.unit(*task).cloned().unwrap_or_default();
            if let Some(l) = u.lease.as_ref().filter(|l| l.is_live(d.now)) {
                return Err(Rejection::Leased {
                    task: task.name(&d.state.blueprint),
                    until: l
                        .expires_at
                        .map_or_else(|| "accepted".to_owned(), |t| t.to_string()),
                });
            }
            let token = u.lease_seq + 1;
            d.emit(
                actor,
                None,
                EventKind::TaskLeased {
                    task: *task,
                    token,
                    worker: worker.clone(),
                    expires_at: *until,
                },
            );
            Ok(())
        }
        Action::Heartbeat { task, until } => {
            let token = lease
                .filter(|t| *t != NO_LEASE)
                .ok_or_else(|| stale(d, *task, NO_LEASE))?;
            unit(
                d,
                *task,
                actor,
                &[
                    UnitStatus::Dispatched,
                    UnitStatus::Suspended,
                    UnitStatus::SupplementRequested,
                ],
                "extended",
            )?;
            let accepted = d
                .state
                .unit(*task)
                .and_then(|u| u.lease.as_ref())
                .is_some_and(|l| l.expires_at.is_none());
            if !accepted {
                d.emit(
                    actor,
                    None,
                    EventKind::LeaseExtended {
                        task: *task,
                        token,
                        expires_at: *until,
                    },
                );
            }
            Ok(())
        }
        Action::Accept { task, receipt_no } => {
            let token = lease.ok_or_else(|| stale(d, *task, 0))?;
            unit(
                d,
                *task,
                actor,
                &[UnitStatus::Dispatched, UnitStatus::Suspended],
                "accepted",
            )?;
            d.emit(
                actor,
                None,
                EventKind::TaskAccepted {
                    task: *task,
                    token,
                    receipt_no: receipt_no.clone(),
                },
            );
            Ok(())
        }
        Action::Approve { task, output } => approve(d, actor, *task, output),
        Action::Refuse { task, reason } => {
            let open = [
                UnitStatus::Dispatched,
                UnitStatus::SupplementRequested,
                UnitStatus::Suspended,
                UnitStatus::RetryWait,
                UnitStatus::Incident,
            ];
            unit(d, *task, actor, &open, "refused")?;
            let reason = required_reason(reason)?;
            d.emit(
                actor,
                Some(reason.clone()),
                EventKind::TaskRejected { task: *task },
            );
            match task.part {
                Part::Verification => procedure::revoke(d, actor, *task, reason),
                Part::Main => on_rejected(d, *task),
                _ => {}
            }
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
            if task.part != Part::Main {
                return Err(Rejection::WrongStep {
                    task: task.name(&d.state.blueprint),
                    status: UnitStatus::Dispatched,
                    action: "asked for a supplement",
                });
            }
            if missing.is_empty() {
                return Err(Rejection::NothingMissing);
            }
            let problems = validate::missing(&d.state.blueprint, missing);
            if !problems.is_empty() {
                return Err(Rejection::InvalidSupply { problems });
            }
            // One deadline for the merged notice (一次性告知): set by the first open request.
            let respond_by = if d.state.awaiting_supplement() {
                None
            } else {
                time::respond_by(d.state, d.now)
            };
            d.emit(
                actor,
                None,
                EventKind::SupplementRequested {
                    task: *task,
                    missing: missing.clone(),
                    respond_by,
                },
            );
            Ok(())
        }
        Action::Supply {
            form,
            materials,
            via,
        } => supply(d, actor, form, materials, via.as_ref()),
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
            // A proposal declined before confirmation closes the same way.
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
                UnitStatus::Suspended,
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
            retries,
        } => {
            let spec = unit(d, *task, actor, &[UnitStatus::Dispatched], "failed")?;
            let retry = spec.map(|s| s.retry).unwrap_or_default();
            let u = d.state.unit(*task).cloned().unwrap_or_default();
            let again = retries.map_or(u.failures + 1 < retry.attempts, |n| n > 0);
            let retry_at = if again {
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
                    retries: *retries,
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
            if task.part == Part::Main
                && task.instance.is_none()
                && t.instances.is_none()
                && t.unit.attempts == 0
            {
                // The incident came before any dispatch (`when` or `for_each` could not be
                // evaluated): start the task over, conditions included.
                start_task(d, task.task, actor);
            } else {
                let element = element_of(d, *task);
                start_unit(d, *task, element.as_ref(), actor);
            }
            Ok(())
        }
        Action::Suspend {
            task,
            step,
            note,
            expected,
        } => {
            unit(d, *task, actor, &[UnitStatus::Dispatched], "suspended")?;
            d.emit(
                actor,
                None,
                EventKind::TaskSuspended {
                    task: *task,
                    step: *step,
                    note: note.clone(),
                    expected: *expected,
                },
            );
            Ok(())
        }
        Action::Resume { task } => {
            unit(d, *task, actor, &[UnitStatus::Suspended], "resumed")?;
            procedure::resume(d, actor, *task);
            Ok(())
        }
        Action::SendBack { task, by, reason } => change::send_back(d, actor, *task, *by, reason),
        Action::AddItem {
            task,
            form,
            materials,
            via,
        } => change::add_item(d, actor, *task, form, materials, via.as_ref()),
        Action::RemoveItem { task, reason } => change::remove_item(d, actor, *task, reason),
        Action::Migrate {
            to,
            mapping,
            reason,
        } => super::migrate::migrate(d, actor, to, mapping, reason),
        Action::Reassign {
            task,
            region,
            reason,
        } => change::reassign(d, actor, *task, region, reason),
    }
}

fn approve(
    d: &mut Decider<'_>,
    actor: &Actor,
    task: TaskRef,
    output: &serde_json::Value,
) -> Result<()> {
    let spec = unit(d, task, actor, &DECIDABLE, "approved")?;
    let name = task.name(&d.state.blueprint);
    if task.part == Part::Main
        && let Some(spec) = spec
    {
        // 容缺: a task cannot be decided before its deferred materials arrive.
        if let Some(m) = spec
            .materials
            .iter()
            .find(|m| d.state.materials.get(*m).is_some_and(|s| s.deferred))
        {
            return Err(Rejection::MaterialDeferred {
                task: name,
                material: m.clone(),
            });
        }
        let problems = validate::output(spec, output);
        if !problems.is_empty() {
            return Err(Rejection::InvalidOutput {
                task: name,
                problems,
            });
        }
    }
    let output = if output.is_null() {
        crate::case::empty_object()
    } else {
        Arc::new(output.clone())
    };
    d.emit(actor, None, EventKind::TaskApproved { task, output });
    Ok(())
}

fn supply(
    d: &mut Decider<'_>,
    actor: &Actor,
    form: &serde_json::Map<String, serde_json::Value>,
    materials: &std::collections::BTreeMap<String, crate::command::MaterialRef>,
    via: Option<&crate::command::Via>,
) -> Result<()> {
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
    let case_paused = d.state.pauses.iter().any(|(_, r)| r.is_none());
    let released: Vec<String> = materials
        .keys()
        .filter(|k| d.state.materials.get(*k).is_some_and(|m| m.deferred))
        .cloned()
        .collect();
    d.emit(
        actor,
        None,
        EventKind::Supplied {
            form: Box::new(form.clone()),
            materials: materials.clone(),
            via: via.cloned(),
        },
    );
    for r in &waiting {
        let element = element_of(d, *r);
        start_unit(d, *r, element.as_ref(), &Actor::Engine);
    }
    if case_paused {
        procedure::resume_case(d);
    }
    // Deferred materials that arrived reach the tasks already working with them.
    if !released.is_empty() {
        let bp = d.state.blueprint.clone();
        let with: Vec<TaskRef> = d
            .state
            .units()
            .filter(|(r, u)| {
                r.part == Part::Main
                    && u.status == UnitStatus::Dispatched
                    && !waiting.contains(r)
                    && bp
                        .spec(r.task)
                        .materials
                        .iter()
                        .any(|m| released.contains(m))
            })
            .map(|(r, _)| r)
            .collect();
        for r in with {
            let element = element_of(d, r);
            start_unit(d, r, element.as_ref(), &Actor::Engine);
        }
    }
    Ok(())
}

/// The unit a command under lease acts on.
fn leased_task(action: &Action) -> Option<TaskRef> {
    match action {
        Action::Approve { task, .. }
        | Action::Refuse { task, .. }
        | Action::RequestSupplement { task, .. }
        | Action::Fail { task, .. }
        | Action::Suspend { task, .. }
        | Action::Resume { task }
        | Action::Heartbeat { task, .. }
        | Action::Accept { task, .. } => Some(*task),
        _ => None,
    }
}

fn stale(d: &Decider<'_>, task: TaskRef, given: u64) -> Rejection {
    let current = d
        .state
        .unit(task)
        .and_then(|u| u.lease.as_ref())
        .filter(|l| l.is_live(d.now))
        .map(|l| l.token);
    Rejection::StaleLease {
        task: task.name(&d.state.blueprint),
        given,
        current,
    }
}

/// The unit's live lease must carry `token`. Token 0 ([`NO_LEASE`]) says "I hold no
/// lease" (a push-delivered unit, answered by its back office): it passes only while no
/// lease is live, and then names the claim an acceptance under it makes.
fn check_lease(d: &Decider<'_>, task: TaskRef, token: u64) -> Result<()> {
    let current = d
        .state
        .unit(task)
        .and_then(|u| u.lease.as_ref())
        .filter(|l| l.is_live(d.now));
    match current {
        Some(l) if l.token == token => Ok(()),
        None if token == NO_LEASE => Ok(()),
        _ => Err(stale(d, task, token)),
    }
}

/// The lease token of a caller that holds no lease; see [`crate::Command::without_lease`].
pub(crate) const NO_LEASE: u64 = 0;

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

pub(crate) fn required_reason(reason: &str) -> Result<String> {
    let r = reason.trim();
    if r.is_empty() {
        Err(Rejection::ReasonRequired)
    } else {
        Ok(r.to_owned())
    }
}

/// The unit a command names, checked: it exists, belongs to the acting department, and is
/// in one of the `allowed` states. Returns its task (none for a rectification).
pub(super) fn unit<'d>(
    d: &'d Decider<'_>,
    r: TaskRef,
    actor: &Actor,
    allowed: &[UnitStatus],
    action: &'static str,
) -> Result<Option<&'d TaskSpec>> {
    let bp = &d.state.blueprint;
    let name = r.name(bp);
    let u = d
        .state
        .unit(r)
        .ok_or_else(|| Rejection::UnknownTask { task: name.clone() })?;
    let department = d
        .state
        .department(r)
        .ok_or_else(|| Rejection::UnknownTask { task: name.clone() })?;
    if let Actor::Department(dep) = actor
        && **dep != **department
    {
        return Err(Rejection::WrongDepartment {
            task: name,
            department: department.to_string(),
        });
    }
    if r.part == Part::Rectification {
        return if allowed.contains(&u.status) {
            Ok(None)
        } else {
            Err(Rejection::TaskNotOpen {
                task: name,
                status: u.status,
                action,
            })
        };
    }
    let spec = bp
        .tasks
        .get(r.task.index())
        .ok_or_else(|| Rejection::UnknownTask { task: name.clone() })?;
    // A fanned-out task is decided per instance; before the fan-out (an incident while
    // evaluating `for_each`) the task as a whole can be retried or cancelled.
    let fanned_out = d.state.tasks[r.task.index()].instances.is_some();
    let whole_allowed = match action {
        "cancelled" | "reassigned" => true,
        "dispatched again" => !fanned_out,
        _ => false,
    };
    if r.part == Part::Main && r.instance.is_none() && spec.for_each.is_some() && !whole_allowed {
        return Err(Rejection::InstanceRequired { task: name });
    }
    if !allowed.contains(&u.status) {
        return Err(Rejection::TaskNotOpen {
            task: name,
            status: u.status,
            action,
        });
    }
    if r.part == Part::Main
        && matches!(spec.mode, TaskMode::Auto { .. })
        && matches!(actor, Actor::Department(_))
    {
        return Err(Rejection::TaskNotOpen {
            task: name,
            status: u.status,
            action,
        });
    }
    Ok(Some(spec))
}
