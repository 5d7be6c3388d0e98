//! Migrating running cases to another version of their bundle (docs/procedures.md
//! "Migrating running cases"): [`plan`] says exactly what the migration does to one case —
//! the dry run — by deciding the migration command on a copy of the case; the real run
//! decides the same command on the stored case ([`crate::Engine::migrate`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use yijian_definitions::Blueprint;

use crate::case::{CaseState, UnitStatus};
use crate::command::{Action, Command};
use crate::event::{EventKind, Pinned};
use crate::ids::{Actor, TaskRef};
use crate::machine::decide;

/// What migrating one case does, or why it cannot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The case.
    pub case_no: String,
    /// The version it runs on.
    pub from: u32,
    /// The version it would run on.
    pub to: u32,
    /// Whether it can move (`reasons` empty).
    pub migratable: bool,
    /// Why it cannot: a task in the way, data the new version needs that the case lacks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Every task of either version and what happens to it.
    pub tasks: Vec<TaskPlan>,
    /// The bundle's due time now and after.
    pub due: Change,
    /// The statutory due time now and after (never earlier).
    pub statutory_due: Change,
}

/// A time before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Now.
    pub before: Option<Timestamp>,
    /// After the migration.
    pub after: Option<Timestamp>,
}

/// One task's fate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskPlan {
    /// The id in the old version (for `added`: in the new one).
    pub task: String,
    /// `kept`, `renamed`, `added` or `removed`.
    pub change: &'static str,
    /// The id in the new version (renamed: the new name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Its status now (`absent` for an added task).
    pub status: String,
    /// Its status right after the migration (an added task may start at once, or be
    /// skipped by its `when`).
    pub after: String,
    /// `kept`: a task under way or settled keeps its clock (due dates as they are);
    /// `new`: a task not started gets its limit from the new version when dispatched.
    pub clock: &'static str,
    /// The promised limit in force after the migration (for `new` clocks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<String>,
    /// The old version's limit, where it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub was: Option<String>,
}

/// What migrating `state` to `to` with `mapping` (old id → new id; other tasks by the same
/// id) would do at `now`; `reason` as the command would carry it.
pub fn plan(
    state: &CaseState,
    to: &Arc<Blueprint>,
    mapping: &BTreeMap<String, String>,
    reason: &str,
    now: Timestamp,
) -> Plan {
    let from = &state.blueprint;
    let cmd = Command::new(
        Actor::Operator("migration".into()),
        Action::Migrate {
            to: Pinned(to.clone()),
            mapping: mapping.clone(),
            reason: reason.to_owned(),
        },
    );
    let decided = decide(state, &cmd, now);
    let mut after = state.clone();
    let (reasons, events) = match decided {
        Ok(events) => {
            for e in &events {
                crate::machine::apply(&mut after, e);
            }
            (Vec::new(), events)
        }
        Err(crate::Rejection::NotMigratable { reasons }) => (reasons, Vec::new()),
        Err(other) => (vec![other.to_string()], Vec::new()),
    };
    let migrated = reasons.is_empty();
    let index: Vec<Option<u32>> = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::CaseMigrated { change, .. } => Some(change.tasks.clone()),
            _ => None,
        })
        .unwrap_or_else(|| {
            from.tasks
                .iter()
                .map(|t| {
                    to.task_idx(mapping.get(&t.id).unwrap_or(&t.id))
                        .map(|i| i.0)
                })
                .collect()
        });
    let limit = |bp: &Blueprint, i| bp.task_limit(i).map(|d| d.to_string());
    let mut tasks = Vec::new();
    let mut targeted = vec![false; to.tasks.len()];
    for (i, spec) in from.tasks.iter().enumerate() {
        let unit = &state.tasks[i].unit;
        let status = unit.status.as_str().to_owned();
        match index.get(i).copied().flatten() {
            None => tasks.push(TaskPlan {
                task: spec.id.clone(),
                change: "removed",
                to: None,
                after: if migrated {
                    "removed".into()
                } else {
                    status.clone()
                },
                status,
                clock: "kept",
                time_limit: None,
                was: None,
            }),
            Some(j) => {
                let j = yijian_definitions::TaskIdx(j);
                targeted[j.index()] = true;
                let new = &to.spec(j).id;
                let started = unit.status != UnitStatus::Waiting;
                let (old_limit, new_limit) = (limit(from, spec.idx), limit(to, j));
                tasks.push(TaskPlan {
                    task: spec.id.clone(),
                    change: if *new == spec.id { "kept" } else { "renamed" },
                    to: Some(new.clone()),
                    after: status_after(&after, migrated, j, &status),
                    status,
                    clock: if started { "kept" } else { "new" },
                    was: (!started && old_limit != new_limit)
                        .then_some(old_limit)
                        .flatten(),
                    time_limit: if started { None } else { new_limit },
                });
            }
        }
    }
    for (j, spec) in to.tasks.iter().enumerate() {
        if targeted[j] {
            continue;
        }
        let j = yijian_definitions::TaskIdx(u32::try_from(j).unwrap_or(u32::MAX));
        tasks.push(TaskPlan {
            task: spec.id.clone(),
            change: "added",
            to: Some(spec.id.clone()),
            status: "absent".into(),
            after: status_after(&after, migrated, j, "absent"),
            clock: "new",
            time_limit: limit(to, j),
            was: None,
        });
    }
    Plan {
        case_no: state.case_no.to_string(),
        from: from.version,
        to: to.version,
        migratable: migrated,
        reasons,
        tasks,
        due: Change {
            before: state.due,
            after: if migrated { after.due } else { state.due },
        },
        statutory_due: Change {
            before: state.statutory_due,
            after: if migrated {
                after.statutory_due
            } else {
                state.statutory_due
            },
        },
    }
}

fn status_after(
    after: &CaseState,
    migrated: bool,
    j: yijian_definitions::TaskIdx,
    now: &str,
) -> String {
    if !migrated {
        return now.to_owned();
    }
    after
        .unit(TaskRef::task(j))
        .map_or_else(|| now.to_owned(), |u| u.status.as_str().to_owned())
}
