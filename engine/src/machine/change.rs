//! Changing a running case: 退回 (a downstream department sends an upstream result back
//! to be redone), 加办 and its reverse (the applicant adds or drops an optional item), and
//! 改派 (an operator moves a unit to another region's department of the same kind).
//!
//! Every check happens before the first event, so a refusal changes nothing; the events
//! carry actor and reason into the audit chain.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use yijian_definitions::{MaterialOrigin, TaskIdx, TaskMode};

use super::apply::open_pause;
use super::task::{required_reason, unit};
use super::{Decider, time};
use crate::case::{CaseState, SentBack, UnitStatus};
use crate::command::{MaterialRef, Via};
use crate::eval;
use crate::event::{Event, EventKind};
use crate::ids::{Actor, Part, TaskRef};
use crate::rejection::{Problem, Rejection, Result};
use crate::validate;

/// Every task downstream of `idx`, transitively, in the blueprint's topological order.
fn dependants(state: &CaseState, idx: TaskIdx) -> Vec<TaskIdx> {
    let bp = &state.blueprint;
    let mut seen = vec![false; bp.tasks.len()];
    let mut stack = vec![idx];
    while let Some(i) = stack.pop() {
        for &d in &bp.spec(i).downstream {
            if !seen[d.index()] {
                seen[d.index()] = true;
                stack.push(d);
            }
        }
    }
    bp.order
        .iter()
        .copied()
        .filter(|i| seen[i.index()])
        .collect()
}

/// A whole task of the main part, named by a command that cannot act on instances.
fn whole_task(d: &Decider<'_>, r: TaskRef) -> Result<TaskRef> {
    let name = r.name(&d.state.blueprint);
    if r.part != Part::Main || r.instance.is_some() || d.state.tasks.get(r.task.index()).is_none() {
        return Err(Rejection::UnknownTask { task: name });
    }
    Ok(r)
}

/// 退回: the department of `by` returns the result of `task`.
pub(crate) fn send_back(
    d: &mut Decider<'_>,
    actor: &Actor,
    task: TaskRef,
    by: TaskRef,
    reason: &str,
) -> Result<()> {
    let task = whole_task(d, task)?;
    unit(
        d,
        by,
        actor,
        &[UnitStatus::Dispatched],
        "the sender of a send-back",
    )?;
    let reason = required_reason(reason)?;
    let bp = d.state.blueprint.clone();
    let name = task.name(&bp);
    let spec = bp.spec(task.task);
    if by.part != Part::Main || !dependants(d.state, task.task).contains(&by.task) {
        return Err(Rejection::NotUpstream {
            task: name,
            by: by.name(&bp),
        });
    }
    let t = &d.state.tasks[task.task.index()];
    let not_allowed = |why: &str| {
        Err(Rejection::SendBackNotAllowed {
            task: name.clone(),
            why: why.to_owned(),
        })
    };
    if !spec.send_back.allowed {
        return not_allowed("the bundle forbids it (`send_back: false`)");
    }
    if matches!(spec.mode, TaskMode::Auto { .. }) {
        return not_allowed("it is decided by its rule, which would decide the same again");
    }
    if t.committed {
        return not_allowed(
            "it was granted on the applicant's commitment (告知承诺); its verification decides",
        );
    }
    if spec.for_each.is_some() {
        return not_allowed("it is a `for_each` task; refuse or redo its instances instead");
    }
    if t.unit.status != UnitStatus::Approved {
        return Err(Rejection::TaskNotOpen {
            task: name,
            status: t.unit.status,
            action: "sent back (only an approved result can be)",
        });
    }
    let done = t.unit.changed.as_ref().map_or(0, |c| c.send_backs);
    if let Some(max) = spec.send_back.max
        && done >= max
    {
        return Err(Rejection::SendBackLimit { task: name, max });
    }
    // The open dependants wait again; one with the applicant or in a special step cannot.
    let mut held = Vec::new();
    for dep in dependants(d.state, task.task) {
        let t = &d.state.tasks[dep.index()];
        let units = std::iter::once(&t.unit).chain(t.instances.iter().flatten());
        let mut open = false;
        for u in units {
            match u.status {
                UnitStatus::SupplementRequested | UnitStatus::Suspended => {
                    return Err(Rejection::DependantBusy {
                        task: bp.spec(dep).id.clone(),
                        status: u.status,
                    });
                }
                s if s.is_open() => open = true,
                _ => {}
            }
        }
        if open {
            held.push(dep);
        }
    }
    let previous_output = t.unit.output.clone();
    d.emit(
        actor,
        Some(reason),
        EventKind::TaskSentBack {
            task,
            by,
            previous_output,
        },
    );
    for dep in held {
        d.emit(
            &Actor::Engine,
            None,
            EventKind::TaskHeld {
                task: TaskRef::task(dep),
                upstream: task,
            },
        );
    }
    // The cascade (`schedule`) dispatches the task again: its upstream tasks are settled.
    Ok(())
}

/// 加办: an optional item joins the running case.
pub(crate) fn add_item(
    d: &mut Decider<'_>,
    actor: &Actor,
    task: TaskRef,
    form: &Map<String, Value>,
    materials: &BTreeMap<String, MaterialRef>,
    via: Option<&Via>,
) -> Result<()> {
    let task = whole_task(d, task)?;
    let bp = d.state.blueprint.clone();
    let name = task.name(&bp);
    let spec = bp.spec(task.task);
    let status = d.state.tasks[task.task.index()].unit.status;
    let applies_now = spec
        .when
        .as_ref()
        .is_none_or(|w| eval::eval_bool(w, d.state, None).unwrap_or(false));
    let left_out = status == UnitStatus::Skipped || (status == UnitStatus::Waiting && !applies_now);
    if !left_out {
        return Err(Rejection::TaskNotOpen {
            task: name,
            status,
            action: "added (only an item left out of the case can be)",
        });
    }
    too_late(d.state, task.task)?;
    let problems = validate::supply(d.state, form, materials);
    if !problems.is_empty() {
        return Err(Rejection::InvalidSupply { problems });
    }
    // The case as the change would leave it, to evaluate the item's condition on.
    let mut probe = d.state.clone();
    super::apply::merge(&mut probe, form, materials);
    if let Some(when) = &spec.when {
        match eval::eval_bool(when, &probe, None) {
            Ok(true) => {}
            Ok(false) => {
                return Err(Rejection::ItemNotApplicable {
                    task: name,
                    when: when.text().to_owned(),
                });
            }
            Err(e) => {
                return Err(Rejection::InvalidSupply {
                    problems: vec![Problem::new(
                        format!("tasks.{name}.when"),
                        format!("could not be evaluated on the changed form: {e}"),
                    )],
                });
            }
        }
    }
    let mut problems = Vec::new();
    for m in &spec.materials {
        let Some(ms) = bp.materials.get(m) else {
            continue;
        };
        let needed = ms.required
            || ms
                .required_when
                .as_ref()
                .is_some_and(|e| eval::eval_bool(e, &probe, None).unwrap_or(true));
        let have = probe.materials.get(m).is_some_and(|s| s.provided);
        if needed && !have && !matches!(ms.source, MaterialOrigin::Task(_)) {
            problems.push(Problem::new(
                format!("materials.{m}"),
                format!("is required for the added item `{name}`"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Rejection::InvalidSupply { problems });
    }
    d.emit(
        actor,
        None,
        EventKind::ItemAdded {
            task,
            form: Box::new(form.clone()),
            materials: materials.clone(),
            via: via.cloned().map(Box::new),
        },
    );
    // A skipped item starts now and its limit counts from now; the case's promise
    // stretches to cover it. (A waiting one starts when its upstream tasks settle, within
    // the case's chain.)
    let item = time::unit_clock(d.state, task, d.now, &[], d.now);
    if status == UnitStatus::Skipped && item.due.is_some() && item.due > d.state.due {
        d.emit(
            &Actor::Engine,
            Some(format!(
                "加办 `{name}`: the bundle's due time follows the item's"
            )),
            EventKind::CaseDueChanged {
                due: item.due,
                statutory_due: d.state.statutory_due.max(item.statutory_due),
                warn_at: item.warn_at,
            },
        );
    }
    Ok(())
}

/// The reverse of 加办: an optional item not yet dispatched is left out.
pub(crate) fn remove_item(
    d: &mut Decider<'_>,
    actor: &Actor,
    task: TaskRef,
    reason: &str,
) -> Result<()> {
    let task = whole_task(d, task)?;
    let reason = required_reason(reason)?;
    let bp = d.state.blueprint.clone();
    let name = task.name(&bp);
    let status = d.state.tasks[task.task.index()].unit.status;
    if bp.spec(task.task).when.is_none() {
        return Err(Rejection::TaskNotOpen {
            task: name,
            status,
            action: "removed (it is not optional: it has no `when`; withdraw it instead)",
        });
    }
    if status != UnitStatus::Waiting {
        return Err(Rejection::TaskNotOpen {
            task: name,
            status,
            action: "removed (only an item not yet dispatched can be; withdraw it instead)",
        });
    }
    too_late(d.state, task.task)?;
    d.emit(
        actor,
        Some(format!("申请人不再办理此项：{reason}")),
        EventKind::TaskSkipped { task },
    );
    Ok(())
}

/// Adding or removing an item is too late once a task after it has started.
fn too_late(state: &CaseState, idx: TaskIdx) -> Result<()> {
    for dep in dependants(state, idx) {
        let s = state.tasks[dep.index()].unit.status;
        if s != UnitStatus::Waiting {
            return Err(Rejection::ItemTooLate {
                task: state.blueprint.spec(idx).id.clone(),
                dependant: state.blueprint.spec(dep).id.clone(),
                status: s,
            });
        }
    }
    Ok(())
}

/// 改派: the unit goes to the department of its kind in `region`; its clock runs on.
pub(crate) fn reassign(
    d: &mut Decider<'_>,
    actor: &Actor,
    task: TaskRef,
    region: &str,
    reason: &str,
) -> Result<()> {
    let open = [
        UnitStatus::Waiting,
        UnitStatus::Dispatched,
        UnitStatus::SupplementRequested,
        UnitStatus::Suspended,
        UnitStatus::RetryWait,
        UnitStatus::Incident,
    ];
    unit(d, task, actor, &open, "reassigned")?;
    if task.part == Part::Rectification {
        let status = d.state.unit(task).map_or(UnitStatus::Waiting, |u| u.status);
        return Err(Rejection::TaskNotOpen {
            task: task.name(&d.state.blueprint),
            status,
            action: "reassigned (a rectification stays with the department rated)",
        });
    }
    let reason = required_reason(reason)?;
    let region = region.trim();
    let from = d.state.unit_region(task).to_string();
    if region.is_empty() || region == from {
        return Err(Rejection::SameRegion {
            task: task.name(&d.state.blueprint),
            region: from,
        });
    }
    d.emit(
        actor,
        Some(reason),
        EventKind::TaskReassigned {
            task,
            from,
            region: region.to_owned(),
        },
    );
    Ok(())
}

/// The unit a department's command acts on must be handled within the caller's scope.
pub(crate) fn check_scope(d: &Decider<'_>, task: TaskRef, scope: &str) -> Result<()> {
    let region = d.state.unit_region(task);
    if region.starts_with(scope) {
        Ok(())
    } else {
        Err(Rejection::OutsideRegion {
            task: task.name(&d.state.blueprint),
            region: region.to_string(),
        })
    }
}

/// `TaskSentBack`: the task waits to be dispatched again, its settled time a pause of
/// its clock (time already spent counts, the time it stood approved does not).
pub(super) fn apply_sent_back(
    state: &mut CaseState,
    task: TaskRef,
    by: TaskRef,
    previous_output: &Option<Arc<Value>>,
    event: &Event,
) {
    let at = event.at;
    let bp = state.blueprint.clone();
    if let Some(u) = state.unit_mut(task) {
        let since = u.settled_at.unwrap_or(at);
        if since < at {
            u.pauses.push((since, Some(at)));
        }
        u.status = UnitStatus::Waiting;
        u.output = None;
        u.settled_at = None;
        u.reason = None;
        u.lease = None;
        let c = u.changed.get_or_insert_with(Box::default);
        c.send_backs += 1;
        c.sent_back = Some(SentBack {
            by,
            reason: event.reason.clone().unwrap_or_default(),
            previous_output: previous_output.clone(),
            at,
        });
    }
    // Licences it produced are produced again by the redone decision.
    for (id, spec) in &bp.materials {
        if spec.source == MaterialOrigin::Task(task.task)
            && let Some(m) = state.materials.get_mut(id)
        {
            m.provided = false;
            m.file = None;
        }
    }
}

/// `TaskHeld`: an open dependant waits again with its clock paused; a fanned-out one
/// fans out anew once the upstream result is redone.
pub(super) fn apply_held(state: &mut CaseState, task: TaskRef, at: jiff::Timestamp) {
    let Some(t) = state.tasks.get_mut(task.task.index()) else {
        return;
    };
    t.instances = None;
    t.items = None;
    let u = &mut t.unit;
    u.status = UnitStatus::Waiting;
    u.lease = None;
    u.retry_at = None;
    u.missing.clear();
    if u.dispatched_at.is_some() {
        open_pause(&mut u.pauses, at);
    }
}
