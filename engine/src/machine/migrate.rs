//! Migration: a running case moves to another version of its bundle. [`analyse`] says
//! what would happen to each task and why a case cannot move; [`migrate`] decides the
//! `case_migrated` event on exactly that analysis; [`apply_migrated`] renumbers the state.

use std::collections::BTreeMap;
use std::sync::Arc;

use yijian_definitions::model::Required;
use yijian_definitions::{Blueprint, MaterialOrigin, TaskIdx, TaskMode};

use super::task::required_reason;
use super::{Decider, time};
use crate::case::{CaseState, Phase, TaskState, UnitStatus};
use crate::event::{EventKind, Migration, Pinned};
use crate::ids::Actor;
use crate::rejection::{Rejection, Result};

/// What a migration does to a case's tasks, and why it cannot (`reasons` not empty).
#[derive(Debug, Clone, Default)]
pub(crate) struct Analysis {
    /// Old task index → new task index.
    pub(crate) index: Vec<Option<u32>>,
    /// Old id → new id of the kept tasks.
    pub(crate) kept: BTreeMap<String, String>,
    /// New tasks the case did not have.
    pub(crate) added: Vec<String>,
    /// Old tasks dropped.
    pub(crate) removed: Vec<String>,
    /// Why the case cannot move (a task in the way, data the new version needs).
    pub(crate) reasons: Vec<String>,
}

/// Problems of a mapping itself (the same for every case): ids that are not tasks of the
/// old or the new version, two old tasks mapped onto one.
pub fn mapping_problems(
    from: &Blueprint,
    to: &Blueprint,
    mapping: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut targets = BTreeMap::new();
    for (old, new) in mapping {
        if from.task_idx(old).is_none() {
            out.push(format!(
                "mapping: `{old}` is not a task of version {}",
                from.version
            ));
        }
        if to.task_idx(new).is_none() {
            out.push(format!(
                "mapping: `{old}` → `{new}`, but `{new}` is not a task of version {}",
                to.version
            ));
        }
        if let Some(other) = targets.insert(new.clone(), old.clone()) {
            out.push(format!(
                "mapping: `{other}` and `{old}` both map onto `{new}`"
            ));
        }
    }
    // A task kept under its own id must not also be the target of a rename.
    for t in &from.tasks {
        if !mapping.contains_key(&t.id)
            && let Some(old) = targets.get(&t.id)
            && to.task_idx(&t.id).is_some()
        {
            out.push(format!(
                "mapping: `{old}` maps onto `{}`, which version {} keeps as itself; map `{}` elsewhere too",
                t.id, from.version, t.id
            ));
        }
    }
    out
}

/// What moving `state` to `to` with `mapping` does, checked.
pub(crate) fn analyse(
    state: &CaseState,
    to: &Blueprint,
    mapping: &BTreeMap<String, String>,
) -> Analysis {
    let from = &state.blueprint;
    let mut a = Analysis {
        reasons: mapping_problems(from, to, mapping),
        ..Analysis::default()
    };
    if from.id != to.id {
        a.reasons.push(format!(
            "the case runs bundle `{}`, not `{}`",
            from.id, to.id
        ));
        return a;
    }
    if from.version == to.version {
        a.reasons
            .push(format!("the case runs version {} already", to.version));
    }
    match state.phase {
        Phase::Closed(o) => a.reasons.push(format!(
            "the case is closed ({}): a closed case stays on the version it ran on",
            o.as_str()
        )),
        Phase::New => a.reasons.push("the case was never submitted".to_owned()),
        Phase::Proposed | Phase::Running => {}
    }
    let mut target_of = vec![None; to.tasks.len()];
    for (i, spec) in from.tasks.iter().enumerate() {
        let name = mapping.get(&spec.id).unwrap_or(&spec.id);
        let new = to.task_idx(name);
        a.index.push(new.map(|n| n.0));
        let t = &state.tasks[i];
        match new {
            None => {
                a.removed.push(spec.id.clone());
                let untouched = matches!(t.unit.status, UnitStatus::Waiting | UnitStatus::Skipped)
                    && t.instances.is_none()
                    && t.verification.is_none();
                if !untouched {
                    a.reasons.push(format!(
                        "task `{}` is {}; version {} has no such task, and only a task not yet \
                         dispatched can be removed (map it onto a task of version {} instead)",
                        spec.id,
                        t.unit.status.as_str(),
                        to.version,
                        to.version
                    ));
                }
            }
            Some(n) => {
                target_of[n.index()] = Some(i);
                a.kept.insert(spec.id.clone(), name.clone());
                kept_fits(state, t, i, to, n, &mut a.reasons);
            }
        }
    }
    for (j, spec) in to.tasks.iter().enumerate() {
        let not_started = match target_of[j] {
            None => {
                a.added.push(spec.id.clone());
                true
            }
            Some(i) => state.tasks[i].unit.status == UnitStatus::Waiting,
        };
        if not_started {
            data_fits(
                state,
                to,
                TaskIdx(u32::try_from(j).unwrap_or(u32::MAX)),
                &target_of,
                &mut a.reasons,
            );
        }
    }
    for (field, rule) in &to.form {
        if rule.field.required == Required::Yes
            && rule.field.default.is_none()
            && !state.form.contains_key(field)
        {
            a.reasons.push(format!(
                "form.{field} is required by version {}; this case has none",
                to.version
            ));
        }
    }
    a
}

/// A kept task already under way must mean the same work in the new version.
fn kept_fits(
    state: &CaseState,
    t: &TaskState,
    old: usize,
    to: &Blueprint,
    new: TaskIdx,
    reasons: &mut Vec<String>,
) {
    let before = &state.blueprint.tasks[old];
    let after = to.spec(new);
    let status = t.unit.status;
    if matches!(status, UnitStatus::Waiting | UnitStatus::Skipped) && t.instances.is_none() {
        return;
    }
    let id = &before.id;
    if status.is_open() && before.department != after.department {
        reasons.push(format!(
            "task `{id}` is {} at `{}`; version {} gives it to `{}`",
            status.as_str(),
            before.department,
            to.version,
            after.department
        ));
    }
    if t.instances.is_some() != after.for_each.is_some() {
        reasons.push(format!(
            "task `{id}` was started {} instances; version {} {}",
            if t.instances.is_some() {
                "with"
            } else {
                "without"
            },
            to.version,
            if after.for_each.is_some() {
                "fans it out"
            } else {
                "does not fan it out"
            }
        ));
    }
    let commitment = match &after.mode {
        TaskMode::Commitment { .. } => true,
        TaskMode::Decide {
            commitment_allowed, ..
        } => *commitment_allowed,
        _ => false,
    };
    if (t.committed || t.verification.is_some()) && !commitment {
        reasons.push(format!(
            "task `{id}` was granted on a commitment (告知承诺); version {} does not allow one",
            to.version
        ));
    }
}

/// A task the new version will start must find the data it reads.
fn data_fits(
    state: &CaseState,
    to: &Blueprint,
    j: TaskIdx,
    target_of: &[Option<usize>],
    reasons: &mut Vec<String>,
) {
    let spec = to.spec(j);
    let exprs = spec
        .input
        .iter()
        .map(|(k, e)| (format!("tasks.{}.input.{k}", spec.id), e))
        .chain(
            spec.when
                .iter()
                .map(|e| (format!("tasks.{}.when", spec.id), e)),
        )
        .chain(
            spec.for_each
                .iter()
                .map(|e| (format!("tasks.{}.for_each", spec.id), e)),
        );
    for (at, e) in exprs {
        for path in e.read_paths() {
            match path.first().map(String::as_str) {
                Some("form") => {
                    let Some(field) = path.get(1) else { continue };
                    let defaulted = to
                        .form
                        .get(field)
                        .is_some_and(|r| r.field.default.is_some());
                    if !state.form.contains_key(field) && !defaulted {
                        reasons.push(format!(
                            "{at} reads form.{field}, which this case does not have"
                        ));
                    }
                }
                Some("tasks") => {
                    let (Some(up), Some(field)) = (path.get(1), path.get(3)) else {
                        continue;
                    };
                    let Some(upj) = to.task_idx(up) else { continue };
                    let Some(old) = target_of[upj.index()] else {
                        continue;
                    };
                    let u = &state.tasks[old].unit;
                    if u.status == UnitStatus::Approved
                        && u.output.as_ref().is_some_and(|o| o.get(field).is_none())
                    {
                        reasons.push(format!(
                            "{at} reads tasks.{up}.output.{field}; the output `{up}` was approved \
                             with has no `{field}`"
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    for m in &spec.materials {
        let Some(ms) = to.materials.get(m) else {
            continue;
        };
        let have = state
            .materials
            .get(m)
            .is_some_and(|s| s.provided || s.deferred);
        if ms.required && ms.source == MaterialOrigin::Applicant && !have {
            reasons.push(format!(
                "tasks.{} needs material `{m}`, which this case does not have",
                spec.id
            ));
        }
    }
}

/// The migration command: refused with every reason when the analysis has any.
pub(crate) fn migrate(
    d: &mut Decider<'_>,
    actor: &Actor,
    to: &Pinned,
    mapping: &BTreeMap<String, String>,
    reason: &str,
) -> Result<()> {
    let reason = required_reason(reason)?;
    let a = analyse(d.state, &to.0, mapping);
    if !a.reasons.is_empty() {
        return Err(Rejection::NotMigratable { reasons: a.reasons });
    }
    // The bundle's clock under the new version; the statutory one never earlier.
    let (due, statutory_due, warn_at) = match d.state.accepted_at {
        Some(accepted) => {
            let mut probe = d.state.clone();
            probe.blueprint = to.0.clone();
            let c = time::case_clock(&probe, accepted, d.now);
            let statutory = match (d.state.statutory_due, c.statutory_due) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            (c.due, statutory, c.warn_at)
        }
        None => (None, None, None),
    };
    let from = d.state.blueprint.version;
    d.emit(
        actor,
        Some(reason),
        EventKind::CaseMigrated {
            from,
            to: to.0.version,
            change: Box::new(Migration {
                tasks: a.index,
                kept: a.kept,
                added: a.added,
                removed: a.removed,
                due,
                statutory_due,
                warn_at,
                blueprint: Some(to.clone()),
            }),
        },
    );
    Ok(())
}

/// `CaseMigrated`: the tasks renumbered onto the new blueprint; new tasks start waiting
/// (the cascade dispatches or skips them); the bundle's clock as decided.
pub(super) fn apply_migrated(
    state: &mut CaseState,
    bp: &Arc<Blueprint>,
    index: &[Option<u32>],
    clock: (
        Option<jiff::Timestamp>,
        Option<jiff::Timestamp>,
        Option<jiff::Timestamp>,
    ),
) {
    let mut tasks = vec![TaskState::default(); bp.tasks.len()];
    let old = std::mem::take(&mut state.tasks);
    let map =
        |i: TaskIdx| -> Option<TaskIdx> { index.get(i.index()).copied().flatten().map(TaskIdx) };
    for (i, mut t) in old.into_iter().enumerate() {
        let Some(j) = index.get(i).copied().flatten() else {
            continue;
        };
        if let Some(c) = t.unit.changed.as_mut()
            && let Some(back) = c.sent_back.as_mut()
        {
            match map(back.by.task) {
                Some(n) => back.by.task = n,
                None => c.sent_back = None,
            }
        }
        if let Some(slot) = tasks.get_mut(j as usize) {
            *slot = t;
        }
    }
    state.tasks = tasks;
    state.commitments = state.commitments.iter().filter_map(|&i| map(i)).collect();
    state.blueprint = bp.clone();
    (state.due, state.statutory_due, state.warn_at) = clock;
}
