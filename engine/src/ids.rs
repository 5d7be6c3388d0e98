//! Identifiers: case numbers, task references and actors.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use yijian_definitions::TaskIdx;

/// A case number (办件编号), unique in a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseNo(Arc<str>);

impl CaseNo {
    /// Wraps a case number.
    pub fn new(s: impl AsRef<str>) -> CaseNo {
        CaseNo(Arc::from(s.as_ref()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which kind of work a [`TaskRef`] names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Part {
    /// The task itself (or one instance of it).
    #[default]
    Main,
    /// The verification that follows a 告知承诺 grant, at the same department.
    Verification,
    /// A rectification after a bad evaluation (好差评); `task` is its number, not a task.
    Rectification,
}

impl Part {
    fn is_main(&self) -> bool {
        *self == Part::Main
    }
}

/// A unit of department work in a case: a task, one instance of a `for_each` task, the
/// verification of a 告知承诺 grant, or a rectification after a bad evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskRef {
    /// The task in the blueprint (for a rectification: its number).
    pub task: TaskIdx,
    /// The instance of a `for_each` task (0-based), `None` for the task as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<u32>,
    /// Which kind of work.
    #[serde(default, skip_serializing_if = "Part::is_main")]
    pub part: Part,
}

impl TaskRef {
    /// The task as a whole.
    pub fn task(task: TaskIdx) -> TaskRef {
        TaskRef {
            task,
            instance: None,
            part: Part::Main,
        }
    }

    /// One instance of a `for_each` task.
    pub fn instance(task: TaskIdx, instance: u32) -> TaskRef {
        TaskRef {
            task,
            instance: Some(instance),
            part: Part::Main,
        }
    }

    /// The verification of a 告知承诺 task.
    pub fn verification(task: TaskIdx) -> TaskRef {
        TaskRef {
            task,
            instance: None,
            part: Part::Verification,
        }
    }

    /// The `n`-th rectification of the case.
    pub fn rectification(n: u32) -> TaskRef {
        TaskRef {
            task: TaskIdx(n),
            instance: None,
            part: Part::Rectification,
        }
    }

    /// Parses `licence`, `partner_check[1]`, `fire_check.verify` or `rectify[0]`.
    pub fn parse(bp: &yijian_definitions::Blueprint, s: &str) -> Option<TaskRef> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("rectify[") {
            return Some(TaskRef::rectification(
                rest.strip_suffix(']')?.trim().parse().ok()?,
            ));
        }
        if let Some(name) = s.strip_suffix(".verify") {
            return Some(TaskRef::verification(bp.task_idx(name.trim())?));
        }
        match s.split_once('[') {
            Some((name, rest)) => {
                let n: u32 = rest.strip_suffix(']')?.trim().parse().ok()?;
                Some(TaskRef::instance(bp.task_idx(name.trim())?, n))
            }
            None => Some(TaskRef::task(bp.task_idx(s)?)),
        }
    }

    /// The kind of work, its name without an instance: `licence`, `partner_check` (for
    /// `partner_check[1]`), `fire_check.verify`, `rectify`. Fetches narrowed to a task match
    /// on it.
    pub fn kind(&self, bp: &yijian_definitions::Blueprint) -> String {
        if self.part == Part::Rectification {
            return "rectify".to_owned();
        }
        let id = bp
            .tasks
            .get(self.task.index())
            .map_or("?", |t| t.id.as_str());
        match self.part {
            Part::Verification => format!("{id}.verify"),
            _ => id.to_owned(),
        }
    }

    /// `licence`, `partner_check[1]`, `fire_check.verify`, `rectify[0]`: the kind, with the
    /// instance or rectification number where there is one.
    pub fn name(&self, bp: &yijian_definitions::Blueprint) -> String {
        let kind = self.kind(bp);
        match (self.part, self.instance) {
            (Part::Rectification, _) => format!("{kind}[{}]", self.task.0),
            (Part::Verification, _) | (_, None) => kind,
            (_, Some(i)) => format!("{kind}[{i}]"),
        }
    }
}

/// The id of a task of a case as back offices see it: `<case_no>:<task name>` (a task name
/// never holds a `:`, so the id splits at its last colon).
pub fn task_id(case_no: &str, task_name: &str) -> String {
    format!("{case_no}:{task_name}")
}

/// Who did something: every event records its actor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Actor {
    /// The applicant (citizen or company), e.g. through the portal.
    Applicant,
    /// Window staff (综合窗口), by staff or terminal id.
    Window(Arc<str>),
    /// A department's back office, by department id.
    Department(Arc<str>),
    /// A data-sharing system that triggers proactive cases, by source.
    Trigger(Arc<str>),
    /// An operator handling incidents.
    Operator(Arc<str>),
    /// The engine itself (scheduling, rules, timers).
    Engine,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Applicant => f.write_str("applicant"),
            Actor::Window(id) => write!(f, "window:{id}"),
            Actor::Department(id) => write!(f, "department:{id}"),
            Actor::Trigger(id) => write!(f, "trigger:{id}"),
            Actor::Operator(id) => write!(f, "operator:{id}"),
            Actor::Engine => f.write_str("engine"),
        }
    }
}
