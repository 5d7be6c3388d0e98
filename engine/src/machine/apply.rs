//! `apply`: an event's effect on the state. Deterministic, and never fails: events were
//! decided against the state they are applied to.

use std::sync::Arc;

use serde_json::Value;

use crate::case::{
    CaseState, Lease, MaterialState, Phase, Rectification, TaskState, Unit, UnitStatus, Warning,
};
use crate::command::{MaterialRef, Submission};
use crate::event::{CancelCause, Event, EventKind};
use crate::ids::{Part, TaskRef};
use yijian_definitions::MaterialOrigin;

/// Applies one event.
pub fn apply(state: &mut CaseState, event: &Event) {
    state.version += 1;
    let at = event.at;
    state.last_event_at = Some(state.last_event_at.map_or(at, |t| t.max(at)));
    match &event.kind {
        EventKind::CaseSubmitted {
            submission,
            deferred,
        } => load(state, submission, deferred),
        EventKind::CaseProposed {
            submission,
            source,
            event_id,
        } => {
            load(state, submission, &[]);
            state.phase = Phase::Proposed;
            state.trigger = Some((source.clone(), event_id.clone()));
        }
        EventKind::CaseAccepted {
            due,
            statutory_due,
            warn_at,
            deferred_due,
        } => {
            state.phase = Phase::Running;
            state.accepted_at = Some(at);
            state.due = *due;
            state.statutory_due = *statutory_due;
            state.warn_at = *warn_at;
            for (id, t) in deferred_due {
                if let Some(m) = state.materials.get_mut(id) {
                    m.due = Some(*t);
                }
            }
        }
        EventKind::TaskDispatched {
            task,
            attempt,
            input,
            due,
            statutory_due,
            warn_at,
        } => {
            if let Some(u) = state.unit_mut(*task) {
                if u.status == UnitStatus::Incident {
                    u.failures = 0;
                    u.retries = None;
                }
                u.status = UnitStatus::Dispatched;
                u.attempts = *attempt;
                u.input = Some(input.clone());
                u.missing.clear();
                u.retry_at = None;
                u.dispatched_at.get_or_insert(at);
                // A new dispatch is fetched anew from the queue.
                u.lease = None;
                close_pause(&mut u.pauses, at);
                set_clock(u, *due, *statutory_due, *warn_at, at);
            }
            clear_respond_by(state);
        }
        EventKind::TaskFannedOut { task, items } => {
            let t = &mut state.tasks[task.task.index()];
            t.items = Some(items.clone());
            t.instances = Some(vec![Unit::default(); items.len()]);
            t.unit.status = UnitStatus::Dispatched;
            t.unit.dispatched_at = Some(at);
        }
        EventKind::TaskGranted { task } => {
            let t = &mut state.tasks[task.task.index()];
            t.committed = true;
            t.unit.output = Some(crate::case::empty_object());
            t.verification = Some(Box::default());
            finish(&mut t.unit, UnitStatus::Approved, event, at);
        }
        EventKind::TaskSkipped { task } => settle(state, *task, UnitStatus::Skipped, event, at),
        EventKind::TaskApproved { task, output } => {
            if let Some(u) = state.unit_mut(*task) {
                u.output = Some(output.clone());
            }
            settle(state, *task, UnitStatus::Approved, event, at);
            if task.instance.is_none() && task.part == Part::Main {
                licences_produced(state, *task, output);
            }
        }
        EventKind::TaskRejected { task } => settle(state, *task, UnitStatus::Rejected, event, at),
        EventKind::SupplementRequested {
            task,
            missing,
            respond_by,
        } => {
            let case_wide =
                state.blueprint.supplement.pause == yijian_definitions::PauseScope::Case;
            if let Some(u) = state.unit_mut(*task) {
                u.status = UnitStatus::SupplementRequested;
                u.missing = missing.clone();
                open_pause(&mut u.pauses, at);
            }
            if case_wide {
                // Every open task waits and the bundle's clock pauses too.
                open_pause(&mut state.pauses, at);
                for t in &mut state.tasks {
                    for u in std::iter::once(&mut t.unit).chain(t.instances.iter_mut().flatten()) {
                        if u.status.is_open() {
                            open_pause(&mut u.pauses, at);
                        }
                    }
                }
            }
            if respond_by.is_some() {
                state.respond_by = *respond_by;
            }
        }
        EventKind::Supplied {
            form, materials, ..
        } => {
            merge(state, form, materials);
            close_pause(&mut state.pauses, at);
        }
        EventKind::CaseDueChanged {
            due,
            statutory_due,
            warn_at,
        } => {
            state.due = *due;
            state.statutory_due = *statutory_due;
            state.warn_at = *warn_at;
            if due.is_some_and(|d| d > at) {
                state.warning = Warning::Green;
            }
        }
        EventKind::TaskSuspended { task, step, .. } => {
            if let Some(u) = state.unit_mut(*task) {
                u.status = UnitStatus::Suspended;
                u.special_step = Some(*step);
                open_pause(&mut u.pauses, at);
            }
        }
        EventKind::TaskResumed {
            task,
            due,
            statutory_due,
            warn_at,
        } => {
            if let Some(u) = state.unit_mut(*task) {
                if u.status == UnitStatus::Suspended {
                    u.status = UnitStatus::Dispatched;
                }
                u.special_step = None;
                close_pause(&mut u.pauses, at);
                set_clock(u, *due, *statutory_due, *warn_at, at);
            }
        }
        EventKind::Warning { task, level, .. } => match task {
            Some(r) => {
                if let Some(u) = state.unit_mut(*r) {
                    u.warning = u.warning.max(*level);
                }
            }
            None => state.warning = state.warning.max(*level),
        },
        EventKind::MaterialOverdue { material, .. } => {
            if let Some(m) = state.materials.get_mut(material) {
                m.overdue = true;
            }
        }
        EventKind::TaskTerminated { task, .. } => {
            settle(state, *task, UnitStatus::Terminated, event, at)
        }
        EventKind::TaskRevoked { task, documents } => {
            if let Some(u) = state.unit_mut(TaskRef::task(task.task)) {
                u.status = UnitStatus::Revoked;
                u.reason = event.reason.clone();
            }
            if !documents.is_empty() {
                let docs = Arc::make_mut(&mut state.documents);
                for name in documents {
                    docs.remove(name);
                }
            }
        }
        EventKind::Evaluated {
            evaluation,
            rectification,
        } => {
            state.evaluations.push(evaluation.clone());
            if let Some(department) = rectification {
                state.rectifications.push(Rectification {
                    department: department.clone(),
                    unit: Unit::default(),
                });
            }
        }
        EventKind::TaskWithdrawn { task } => {
            state.tasks[task.task.index()].dropped = true;
            settle(state, *task, UnitStatus::Withdrawn, event, at);
        }
        EventKind::TaskCancelled { task, cause } => {
            if let CancelCause::Upstream { upstream: up } = cause
                && state.tasks[up.task.index()].dropped
            {
                state.tasks[task.task.index()].dropped = true;
            }
            settle(state, *task, UnitStatus::Cancelled, event, at);
            clear_respond_by(state);
        }
        EventKind::TaskFailed {
            task,
            error,
            retry_at,
            retries,
            ..
        } => {
            if let Some(u) = state.unit_mut(*task) {
                u.failures += 1;
                u.retries = *retries;
                u.reason = Some(error.clone());
                u.retry_at = *retry_at;
                u.status = if retry_at.is_some() {
                    UnitStatus::RetryWait
                } else {
                    UnitStatus::Incident
                };
            }
        }
        EventKind::TaskLeased {
            task,
            token,
            worker,
            expires_at,
        } => {
            if let Some(u) = state.unit_mut(*task) {
                u.lease = Some(Box::new(Lease {
                    token: *token,
                    worker: worker.clone(),
                    expires_at: Some(*expires_at),
                    receipt_no: None,
                }));
                u.lease_seq = u.lease_seq.max(*token);
            }
        }
        EventKind::LeaseExtended {
            task, expires_at, ..
        } => {
            if let Some(l) = state.unit_mut(*task).and_then(|u| u.lease.as_mut()) {
                l.expires_at = Some(*expires_at);
            }
        }
        EventKind::LeaseExpired { task, .. } => {
            if let Some(u) = state.unit_mut(*task) {
                u.lease = None;
            }
        }
        EventKind::TaskAccepted {
            task,
            token,
            receipt_no,
        } => {
            if let Some(u) = state.unit_mut(*task) {
                match u.lease.as_mut().filter(|l| l.token == *token) {
                    Some(l) => {
                        l.expires_at = None;
                        l.receipt_no = receipt_no.clone();
                    }
                    // Accepted without a lease (a push-delivered unit): the claim is made here.
                    None => {
                        u.lease = Some(Box::new(Lease {
                            token: *token,
                            worker: event.actor.to_string(),
                            expires_at: None,
                            receipt_no: receipt_no.clone(),
                        }));
                    }
                }
            }
        }
        EventKind::CaseWithdrawn => {}
        EventKind::TaskSentBack {
            task,
            by,
            previous_output,
        } => super::change::apply_sent_back(state, *task, *by, previous_output, event),
        EventKind::TaskHeld { task, .. } => super::change::apply_held(state, *task, at),
        EventKind::ItemAdded {
            task,
            form,
            materials,
            ..
        } => {
            merge(state, form, materials);
            if let Some(u) = state.unit_mut(*task) {
                u.status = UnitStatus::Waiting;
                u.settled_at = None;
                u.reason = None;
            }
        }
        EventKind::TaskReassigned { task, region, .. } => {
            let moved = (**region != *state.region).then(|| Arc::from(region.as_str()));
            let whole = task.part == Part::Main && task.instance.is_none();
            let t = &mut state.tasks[task.task.index()];
            let units: Vec<&mut Unit> = match (task.part, task.instance) {
                (Part::Verification, _) => t.verification.as_deref_mut().into_iter().collect(),
                (Part::Main, Some(i)) => t
                    .instances
                    .iter_mut()
                    .flatten()
                    .nth(i as usize)
                    .into_iter()
                    .collect(),
                // A whole task takes its instances with it.
                _ if whole => std::iter::once(&mut t.unit)
                    .chain(t.instances.iter_mut().flatten())
                    .collect(),
                _ => Vec::new(),
            };
            for u in units {
                u.changed.get_or_insert_with(Box::default).region = moved.clone();
                // Queued anew for the region's department.
                u.lease = None;
            }
        }
        EventKind::CaseMigrated { change, .. } => {
            // Decided or replayed, the event carries its blueprint (see `pin_blueprints`).
            if let Some(bp) = &change.blueprint {
                super::migrate::apply_migrated(
                    state,
                    &bp.0,
                    &change.tasks,
                    (change.due, change.statutory_due, change.warn_at),
                );
            }
        }
        EventKind::CaseClosed { outcome, documents } => {
            state.phase = Phase::Closed(*outcome);
            state.closed_at = Some(at);
            state.documents = documents.clone();
            state.respond_by = None;
        }
    }
}

/// Form fields and materials handed in after the submission.
pub(super) fn merge(
    state: &mut CaseState,
    form: &serde_json::Map<String, Value>,
    materials: &std::collections::BTreeMap<String, MaterialRef>,
) {
    if !form.is_empty() {
        let f = Arc::make_mut(&mut state.form);
        for (k, v) in form {
            f.insert(k.clone(), v.clone());
        }
    }
    for (k, m) in materials {
        if let Some(s) = state.materials.get_mut(k) {
            s.file = Some(m.clone());
            s.provided = true;
            s.deferred = false;
        }
    }
}

/// The application's data: form, materials, commitments.
fn load(state: &mut CaseState, submission: &Submission, deferred: &[String]) {
    state.region = Arc::from(submission.region.as_str());
    state.channel = submission
        .via
        .as_ref()
        .map(|v| Arc::from(v.channel.as_str()));
    state.progress_code = submission.progress_code.clone();
    state.form = Arc::new(submission.form.clone());
    state.commitments = submission
        .commitments
        .iter()
        .filter_map(|c| state.blueprint.task_idx(c))
        .collect();
    let bp = state.blueprint.clone();
    state.materials = bp
        .materials
        .iter()
        .map(|(id, spec)| {
            let file = submission.materials.get(id).cloned();
            let provided = file.is_some()
                || (spec.source == MaterialOrigin::Shared && !submission.unavailable.contains(id));
            let m = MaterialState {
                file,
                provided,
                deferred: deferred.contains(id),
                due: None,
                overdue: false,
            };
            (id.clone(), m)
        })
        .collect();
}

pub(super) fn open_pause(
    pauses: &mut Vec<(jiff::Timestamp, Option<jiff::Timestamp>)>,
    at: jiff::Timestamp,
) {
    if pauses.iter().all(|(_, r)| r.is_some()) {
        pauses.push((at, None));
    }
}

fn close_pause(pauses: &mut [(jiff::Timestamp, Option<jiff::Timestamp>)], at: jiff::Timestamp) {
    for p in pauses.iter_mut().filter(|(_, r)| r.is_none()) {
        p.1 = Some(at);
    }
}

fn set_clock(
    u: &mut Unit,
    due: Option<jiff::Timestamp>,
    statutory: Option<jiff::Timestamp>,
    warn_at: Option<jiff::Timestamp>,
    at: jiff::Timestamp,
) {
    if due.is_some() {
        // A later due time (a pause was excluded) starts the warnings over.
        if due > u.due && due.is_some_and(|d| d > at) {
            u.warning = Warning::Green;
        }
        u.due = due;
        u.warn_at = warn_at;
    }
    if statutory.is_some() {
        u.statutory_due = statutory;
    }
}

/// The applicant's deadline lapses once no request is open.
fn clear_respond_by(state: &mut CaseState) {
    if state.respond_by.is_some() && !state.awaiting_supplement() {
        state.respond_by = None;
    }
}

/// Makes a unit final; a whole fan-out task takes its open instances with it, and the last
/// instance to settle settles the task (the join).
fn settle(
    state: &mut CaseState,
    r: TaskRef,
    status: UnitStatus,
    event: &Event,
    at: jiff::Timestamp,
) {
    if r.part != Part::Main {
        if let Some(u) = state.unit_mut(r) {
            finish(u, status, event, at);
        }
        return;
    }
    let t = &mut state.tasks[r.task.index()];
    match r.instance {
        None => {
            finish(&mut t.unit, status, event, at);
            if let Some(list) = &mut t.instances {
                for u in list.iter_mut().filter(|u| !u.status.is_final()) {
                    finish(u, status, event, at);
                }
            }
        }
        Some(i) => {
            if let Some(u) = t.instances.as_mut().and_then(|l| l.get_mut(i as usize)) {
                finish(u, status, event, at);
            }
            join(t, at);
        }
    }
}

fn finish(u: &mut Unit, status: UnitStatus, event: &Event, at: jiff::Timestamp) {
    u.status = status;
    u.settled_at = Some(at);
    u.retry_at = None;
    u.missing.clear();
    if event.reason.is_some() {
        u.reason = event.reason.clone();
    }
}

/// Settles a fan-out task once every instance is final.
fn join(t: &mut TaskState, at: jiff::Timestamp) {
    let Some(list) = &t.instances else { return };
    if t.unit.status.is_final() || !list.iter().all(|u| u.status.is_final()) {
        return;
    }
    let pick = |s: UnitStatus| list.iter().position(|u| u.status == s);
    let (status, reason) = if list.iter().all(|u| u.status.lets_dependants_run()) {
        (UnitStatus::Approved, None)
    } else if let Some(i) = pick(UnitStatus::Rejected) {
        (
            UnitStatus::Rejected,
            Some(format!(
                "instance {i} refused: {}",
                list[i].reason.clone().unwrap_or_default()
            )),
        )
    } else if let Some(i) = pick(UnitStatus::Withdrawn) {
        (
            UnitStatus::Withdrawn,
            Some(format!("instance {i} withdrawn")),
        )
    } else {
        (
            UnitStatus::Cancelled,
            pick(UnitStatus::Cancelled).map(|i| format!("instance {i} cancelled")),
        )
    };
    let outputs: Vec<Value> = list
        .iter()
        .map(|u| u.output.as_deref().cloned().unwrap_or(Value::Null))
        .collect();
    t.unit.status = status;
    t.unit.settled_at = Some(at);
    t.unit.reason = reason;
    if status == UnitStatus::Approved {
        t.unit.output = Some(Arc::new(Value::Array(outputs)));
    }
}

/// Electronic licences the task produced become materials of the tasks that use them.
fn licences_produced(state: &mut CaseState, r: TaskRef, output: &Value) {
    let bp = state.blueprint.clone();
    for (id, spec) in &bp.materials {
        if spec.source == MaterialOrigin::Task(r.task)
            && let Some(m) = state.materials.get_mut(id)
        {
            m.provided = true;
            m.file = output
                .get(id)
                .and_then(|v| serde_json::from_value::<MaterialRef>(v.clone()).ok());
        }
    }
}
