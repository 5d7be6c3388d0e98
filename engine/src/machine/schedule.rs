//! The cascade after every command: tasks whose upstream tasks are all final start (or are
//! skipped or cancelled), and the case closes when nothing can progress.

use std::sync::Arc;

use serde_json::{Map, Value};
use yijian_definitions::{OnReject, TaskIdx, TaskMode};

use super::{Decider, time};
use crate::case::{Outcome, Phase, UnitStatus, empty_object};
use crate::eval;
use crate::event::{CancelCause, EventKind};
use crate::ids::{Actor, Part, TaskRef};

/// Starts every task that can start, then closes the case if nothing is left.
pub(crate) fn schedule(d: &mut Decider<'_>) {
    if d.state.phase != Phase::Running {
        return;
    }
    let bp = d.state.blueprint.clone();
    // One pass in topological order is enough: a task settled during the pass can only
    // unblock tasks that come after it in this order.
    for &idx in &bp.order {
        if d.state.tasks[idx.index()].unit.status != UnitStatus::Waiting {
            continue;
        }
        let spec = bp.spec(idx);
        let mut blocked_by = None;
        let mut all_final = true;
        for up in &spec.upstream {
            let s = d.state.tasks[up.index()].unit.status;
            if !s.is_final() {
                all_final = false;
                break;
            }
            if !s.lets_dependants_run() && blocked_by.is_none() {
                blocked_by = Some(*up);
            }
        }
        if !all_final {
            continue;
        }
        match blocked_by {
            Some(up) => d.emit(
                &Actor::Engine,
                None,
                EventKind::TaskCancelled {
                    task: TaskRef::task(idx),
                    cause: CancelCause::Upstream {
                        upstream: TaskRef::task(up),
                    },
                },
            ),
            None => start_task(d, idx, &Actor::Engine),
        }
    }
    maybe_close(d, None);
}

/// A ready task: skipped, fanned out, decided by its rule, or dispatched.
pub(crate) fn start_task(d: &mut Decider<'_>, idx: TaskIdx, actor: &Actor) {
    let bp = d.state.blueprint.clone();
    let spec = bp.spec(idx);
    let r = TaskRef::task(idx);
    if let Some(when) = &spec.when {
        match eval::eval_bool(when, d.state, None) {
            Ok(true) => {}
            Ok(false) => {
                d.emit(
                    &Actor::Engine,
                    Some(format!("`when: {}` is false", when.text())),
                    EventKind::TaskSkipped { task: r },
                );
                return;
            }
            Err(e) => return incident(d, r, format!("`when` could not be evaluated: {e}")),
        }
    }
    match &spec.for_each {
        None => start_unit(d, r, None, actor),
        Some(list) => match eval::eval_list(list, d.state) {
            Err(e) => incident(d, r, format!("`for_each` could not be evaluated: {e}")),
            Ok(items) if items.is_empty() => d.emit(
                &Actor::Engine,
                Some("the `for_each` list is empty".to_owned()),
                EventKind::TaskSkipped { task: r },
            ),
            Ok(items) => {
                let n = items.len() as u32;
                d.emit(
                    &Actor::Engine,
                    None,
                    EventKind::TaskFannedOut {
                        task: r,
                        items: items.clone(),
                    },
                );
                for i in 0..n {
                    start_unit(
                        d,
                        TaskRef::instance(idx, i),
                        Some(&items[i as usize]),
                        actor,
                    );
                }
            }
        },
    }
}

/// Dispatches a unit (evaluating its input), decides it at once by its rule, or grants it
/// on the applicant's commitment (告知承诺) and dispatches its verification.
pub(crate) fn start_unit(d: &mut Decider<'_>, r: TaskRef, element: Option<&Value>, actor: &Actor) {
    // A unit settled meanwhile (an all-or-nothing refusal of a sibling) is left alone.
    if d.state.unit(r).is_none_or(|u| u.status.is_final()) {
        return;
    }
    if r.part == Part::Rectification {
        let n = r.task.index();
        let input = d
            .state
            .evaluations
            .last()
            .and_then(|e| serde_json::to_value(e).ok())
            .unwrap_or_default();
        let input = serde_json::json!({"evaluation": input, "case_no": d.state.case_no.as_str(), "rectification": n});
        return dispatch(d, r, Arc::new(input), actor);
    }
    let bp = d.state.blueprint.clone();
    let spec = bp.spec(r.task);
    let element = element.map(|e| (spec.as_var.as_str(), e));
    let mut input = Map::with_capacity(spec.input.len());
    for (name, expr) in &spec.input {
        match eval::eval_json(expr, d.state, element) {
            Ok(v) => {
                input.insert(name.clone(), v);
            }
            Err(e) => return incident(d, r, format!("input `{name}` could not be evaluated: {e}")),
        }
    }
    let input = if input.is_empty() {
        empty_object()
    } else {
        Arc::new(Value::Object(input))
    };
    if r.part == Part::Main {
        if let TaskMode::Auto { rule } = &spec.mode {
            match eval::eval_bool(rule, d.state, element) {
                Ok(true) => d.emit(
                    &Actor::Engine,
                    Some(format!("rule `{}` holds", rule.text())),
                    EventKind::TaskApproved {
                        task: r,
                        output: empty_object(),
                    },
                ),
                Ok(false) => {
                    d.emit(
                        &Actor::Engine,
                        Some(format!("rule `{}` does not hold", rule.text())),
                        EventKind::TaskRejected { task: r },
                    );
                    on_rejected(d, r);
                }
                Err(e) => incident(d, r, format!("rule could not be evaluated: {e}")),
            }
            return;
        }
        let committed = match spec.mode {
            TaskMode::Commitment { .. } => true,
            TaskMode::Decide {
                commitment_allowed: true,
                ..
            } => d.state.commitments.contains(&r.task),
            _ => false,
        };
        if committed && r.instance.is_none() && spec.for_each.is_none() {
            d.emit(
                &Actor::Engine,
                Some("告知承诺：申请人书面承诺，当场准予".to_owned()),
                EventKind::TaskGranted { task: r },
            );
            let v = TaskRef::verification(r.task);
            return dispatch(d, v, input, &Actor::Engine);
        }
    }
    dispatch(d, r, input, actor);
}

/// Hands a unit to its department with its clock: due times count from its first dispatch,
/// paused time excluded.
fn dispatch(d: &mut Decider<'_>, r: TaskRef, input: Arc<Value>, actor: &Actor) {
    let now = d.now;
    let (attempt, start, pauses) = match d.state.unit(r) {
        Some(u) => (
            u.attempts + 1,
            u.dispatched_at.unwrap_or(now),
            u.pauses.clone(),
        ),
        None => (1, now, Vec::new()),
    };
    let clock = time::unit_clock(d.state, r, start, &pauses, now);
    // Domain rule 6: a limit the calendar cannot count is said, never guessed.
    let reason = (clock.due.is_none() && time::has_limit(d.state, r)).then(|| {
        format!("期限无法计算：日历 `{}` 不含该期限所到的年份 (due date unknown: the calendar has no data that far)", d.state.blueprint.calendar)
    });
    d.emit(
        actor,
        reason,
        EventKind::TaskDispatched {
            task: r,
            attempt,
            input,
            due: clock.due,
            statutory_due: clock.statutory_due,
            warn_at: clock.warn_at,
        },
    );
}

/// The element a fan-out instance runs on.
pub(crate) fn element_of(d: &Decider<'_>, r: TaskRef) -> Option<Value> {
    let i = r.instance?;
    d.state.tasks[r.task.index()]
        .items
        .as_ref()?
        .get(i as usize)
        .cloned()
}

/// An evaluation error is not a decision: the task waits for an operator.
fn incident(d: &mut Decider<'_>, r: TaskRef, error: String) {
    let attempt = d.state.unit(r).map_or(0, |u| u.attempts);
    d.emit(
        &Actor::Engine,
        None,
        EventKind::TaskFailed {
            task: r,
            attempt,
            error,
            retry_at: None,
            retries: None,
        },
    );
}

/// After a refusal: an all-or-nothing bundle cancels every other open or waiting task.
pub(crate) fn on_rejected(d: &mut Decider<'_>, refused: TaskRef) {
    if d.state.blueprint.on_reject != OnReject::RejectBundle {
        return;
    }
    let mut open: Vec<TaskRef> = Vec::new();
    for (i, t) in d.state.tasks.iter().enumerate() {
        let idx = TaskIdx(i as u32);
        if t.unit.status.is_final() {
            continue;
        }
        if idx == refused.task
            && let Some(list) = &t.instances
        {
            // The refused instance's siblings are cancelled; the join then settles the task
            // as refused.
            open.extend(
                list.iter()
                    .enumerate()
                    .filter(|(_, u)| !u.status.is_final())
                    .map(|(n, _)| TaskRef::instance(idx, n as u32)),
            );
        } else {
            open.push(TaskRef::task(idx));
        }
    }
    for r in open {
        d.emit(
            &Actor::Engine,
            None,
            EventKind::TaskCancelled {
                task: r,
                cause: CancelCause::BundleRefused { refused },
            },
        );
    }
}

/// Closes the case when every task is final; `forced` closes it with that outcome.
pub(crate) fn maybe_close(d: &mut Decider<'_>, forced: Option<Outcome>) {
    let proposal_declined = d.state.phase == Phase::Proposed && forced.is_some();
    if d.state.phase != Phase::Running && !proposal_declined {
        return;
    }
    if forced.is_none() && !d.state.tasks.iter().all(|t| t.unit.status.is_final()) {
        return;
    }
    let outcome = forced.unwrap_or_else(|| outcome(d));
    let bp = d.state.blueprint.clone();
    let mut documents = Map::new();
    for (name, expr) in &bp.documents {
        // A document whose task did not deliver is simply absent.
        if let Ok(v) = eval::eval_json(expr, d.state, None)
            && !v.is_null()
        {
            documents.insert(name.clone(), v);
        }
    }
    d.emit(
        &Actor::Engine,
        None,
        EventKind::CaseClosed {
            outcome,
            documents: Arc::new(documents),
        },
    );
}

fn outcome(d: &Decider<'_>) -> Outcome {
    let considered: Vec<UnitStatus> = d
        .state
        .tasks
        .iter()
        .filter(|t| !t.dropped)
        .map(|t| t.unit.status)
        .collect();
    if considered.is_empty() {
        return Outcome::Withdrawn;
    }
    let any = |s: UnitStatus| considered.contains(&s);
    if d.state.blueprint.on_reject == OnReject::RejectBundle && any(UnitStatus::Rejected) {
        return Outcome::Refused;
    }
    if considered.iter().all(|s| s.lets_dependants_run()) {
        return Outcome::Completed;
    }
    if any(UnitStatus::Approved) {
        return Outcome::PartiallyCompleted;
    }
    // Nothing delivered: refused if a department refused, otherwise the work was stopped
    // (an operator cancelled it) without any decision.
    if any(UnitStatus::Rejected) {
        Outcome::Refused
    } else {
        Outcome::Terminated
    }
}
