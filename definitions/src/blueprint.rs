//! The compiled bundle the engine runs: tasks by index, the dependency graph in
//! topological order, compiled expressions and resolved defaults. Built once per deployed
//! bundle version and shared (`Arc`) by every case that runs on it.

use std::fmt;

use indexmap::IndexMap;
use petgraph::graph::DiGraph;
use serde::Serialize;

use crate::duration::Duration;
use crate::expr::Expr;
use crate::graph::EdgeKind;
use crate::model::{
    EvaluationDef, FormField, MaterialSource, OnDeferredOverdue, OnReject, OutputType, RetryDef,
    SupplementDef, Warn,
};

/// The index of a task in its blueprint (file order).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
pub struct TaskIdx(pub u32);

impl TaskIdx {
    /// As a `usize` for indexing.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for TaskIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// How a compiled task is decided.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TaskMode {
    /// The department decides.
    Decide {
        /// The applicant may choose 告知承诺 at submission; then it runs as `Commitment`.
        commitment_allowed: bool,
        /// Verification deadline when run as a commitment.
        verify_within: Option<Duration>,
    },
    /// 告知承诺: granted at once, verified within the deadline.
    Commitment {
        /// Deadline of the verification task (default: the task's limit).
        verify_within: Option<Duration>,
    },
    /// Decided by the rule, at once.
    Auto {
        /// Approved when true.
        rule: Expr,
    },
}

/// A compiled task.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    /// The task id.
    pub id: String,
    /// Its index.
    pub idx: TaskIdx,
    /// Label.
    pub title: String,
    /// The department id (shared: every dispatch and answer names it).
    pub department: std::sync::Arc<str>,
    /// 事项编码.
    pub item: Option<String>,
    /// Tasks that must settle first (`after` and licence sources), without repeats.
    pub upstream: Vec<TaskIdx>,
    /// Tasks that wait for this one.
    pub downstream: Vec<TaskIdx>,
    /// Skipped when false.
    pub when: Option<Expr>,
    /// One instance per element.
    pub for_each: Option<Expr>,
    /// The element's variable name (default `item`).
    pub as_var: String,
    /// What the department receives.
    pub input: Vec<(String, Expr)>,
    /// Materials the department receives (ids).
    pub materials: Vec<String>,
    /// Declared outputs.
    pub output: IndexMap<String, OutputType>,
    /// Promised limit (own; `None` means the bundle's applies).
    pub time_limit: Option<Duration>,
    /// Legal limit.
    pub statutory_limit: Option<Duration>,
    /// Yellow warning (default: 1 working day before due).
    pub warn: Warn,
    /// How it is decided.
    pub mode: TaskMode,
    /// Technical retry policy.
    pub retry: RetryDef,
    /// Send-back policy (退回).
    pub send_back: crate::model::SendBackDef,
    /// 办事指南 facts.
    pub guide: crate::model::TaskGuide,
}

impl TaskSpec {
    /// Is this a fan-out (`for_each`) task?
    pub fn is_fan_out(&self) -> bool {
        self.for_each.is_some()
    }
}

/// A compiled material.
#[derive(Debug, Clone)]
pub struct MaterialSpec {
    /// Label.
    pub title: Option<String>,
    /// Always required.
    pub required: bool,
    /// Required when this holds.
    pub required_when: Option<Expr>,
    /// 容缺 allowance.
    pub deferrable: Option<Duration>,
    /// Where it comes from (task sources resolved to an index).
    pub source: MaterialOrigin,
    /// 办事指南 facts.
    pub guide: crate::model::MaterialGuide,
}

/// Where a compiled material comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MaterialOrigin {
    /// Uploaded by the applicant.
    Applicant,
    /// Data sharing.
    Shared,
    /// Produced by this task.
    Task(TaskIdx),
}

impl From<(&MaterialSource, Option<TaskIdx>)> for MaterialOrigin {
    fn from((s, idx): (&MaterialSource, Option<TaskIdx>)) -> Self {
        match (s, idx) {
            (MaterialSource::Shared, _) => MaterialOrigin::Shared,
            (MaterialSource::Task(_), Some(i)) => MaterialOrigin::Task(i),
            _ => MaterialOrigin::Applicant,
        }
    }
}

/// A compiled form field's requirement.
#[derive(Debug, Clone)]
pub struct FieldRule {
    /// The field as declared.
    pub field: FormField,
    /// Required when this holds (for `required: "<expr>"`).
    pub required_when: Option<Expr>,
}

/// The compiled bundle.
#[derive(Debug, Clone)]
pub struct Blueprint {
    /// Bundle id (shared: every case summary names it).
    pub id: std::sync::Arc<str>,
    /// Version.
    pub version: u32,
    /// Title.
    pub title: String,
    /// A longer description.
    pub description: Option<String>,
    /// Calendar id.
    pub calendar: String,
    /// Promised limit of the bundle.
    pub time_limit: Option<Duration>,
    /// Legal limit of the bundle.
    pub statutory_limit: Option<Duration>,
    /// The form.
    pub form: IndexMap<String, FieldRule>,
    /// The materials.
    pub materials: IndexMap<String, MaterialSpec>,
    /// Tasks in file order; `tasks[i].idx == TaskIdx(i)`.
    pub tasks: Vec<TaskSpec>,
    /// Tasks in an order where every task comes after its upstream tasks.
    pub order: Vec<TaskIdx>,
    /// The dependency graph; node `i` is task `i`.
    pub graph: DiGraph<u32, EdgeKind>,
    /// Refusal policy.
    pub on_reject: OnReject,
    /// Deferred-material policy.
    pub on_deferred_overdue: OnDeferredOverdue,
    /// Documents merged into the result.
    pub documents: Vec<(String, Expr)>,
    /// Supplement rules.
    pub supplement: SupplementDef,
    /// Evaluation rules.
    pub evaluation: EvaluationDef,
    /// Offered only when this holds.
    pub offered_when: Option<Expr>,
    /// Proactive cases allowed.
    pub proposed_trigger: bool,
    /// 办事指南 facts of the bundle.
    pub guide: crate::model::GuideDef,
}

impl Blueprint {
    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&TaskSpec> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// The index of the task with this id.
    pub fn task_idx(&self, id: &str) -> Option<TaskIdx> {
        self.task(id).map(|t| t.idx)
    }

    /// The task at an index.
    pub fn spec(&self, idx: TaskIdx) -> &TaskSpec {
        &self.tasks[idx.index()]
    }

    /// How many tasks each task waits for, by index.
    pub fn upstream_counts(&self) -> Vec<u32> {
        self.tasks.iter().map(|t| t.upstream.len() as u32).collect()
    }

    /// The effective promised limit of a task: its own, else the bundle's.
    pub fn task_limit(&self, idx: TaskIdx) -> Option<Duration> {
        self.spec(idx).time_limit.or(self.time_limit)
    }
}
