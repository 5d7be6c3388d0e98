//! Events: the truth about a case and its audit trail (全程留痕).
//!
//! Every change of a case is an event with its actor, time and reason. Replaying a case's
//! events from an empty state gives the live state; expressions are evaluated when an event
//! is decided and their results recorded in it, so replay needs no evaluation.

use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::case::{Missing, Outcome};
use crate::command::{MaterialRef, Submission};
use crate::ids::{Actor, TaskRef};

/// One event of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened.
    pub at: Timestamp,
    /// Who caused it.
    pub actor: Actor,
    /// Why, in words, where there is a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Why a task was cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CancelCause {
    /// An upstream task was refused, withdrawn, cancelled or terminated.
    Upstream {
        /// The upstream task.
        upstream: TaskRef,
    },
    /// The bundle is all-or-nothing (`reject_bundle`) and a task was refused.
    BundleRefused {
        /// The refused task.
        refused: TaskRef,
    },
    /// An operator cancelled it (incident).
    Operator,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The application was accepted (受理) and the case started.
    CaseSubmitted {
        /// The application, with defaults applied and shared materials resolved.
        submission: Arc<Submission>,
        /// Deferrable materials accepted as missing (容缺).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        deferred: Vec<String>,
    },
    /// A task was handed to its department.
    TaskDispatched {
        /// The task or instance.
        task: TaskRef,
        /// Attempt number, from 1.
        attempt: u32,
        /// The evaluated `input`.
        input: Arc<serde_json::Value>,
    },
    /// A `for_each` task was split into instances.
    TaskFannedOut {
        /// The task.
        task: TaskRef,
        /// The elements, one instance each.
        items: Arc<Vec<serde_json::Value>>,
    },
    /// A task's `when` was false (settled).
    TaskSkipped {
        /// The task.
        task: TaskRef,
    },
    /// The department approved (with output).
    TaskApproved {
        /// The task or instance.
        task: TaskRef,
        /// The output, as declared.
        output: Arc<serde_json::Value>,
    },
    /// The department refused (不予许可); the reason is the event's reason.
    TaskRejected {
        /// The task or instance.
        task: TaskRef,
    },
    /// The department asked for missing materials or fields (补正).
    SupplementRequested {
        /// The task or instance.
        task: TaskRef,
        /// What is missing.
        missing: Vec<Missing>,
    },
    /// The applicant supplied what was asked (and/or deferred materials).
    Supplied {
        /// Form fields given or corrected.
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        form: serde_json::Map<String, serde_json::Value>,
        /// Materials given.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        materials: std::collections::BTreeMap<String, MaterialRef>,
    },
    /// The applicant withdrew this task (撤回).
    TaskWithdrawn {
        /// The task.
        task: TaskRef,
    },
    /// The task will not run.
    TaskCancelled {
        /// The task or instance.
        task: TaskRef,
        /// Why.
        #[serde(flatten)]
        cause: CancelCause,
    },
    /// A technical failure (not a decision).
    TaskFailed {
        /// The task or instance.
        task: TaskRef,
        /// The attempt that failed.
        attempt: u32,
        /// What went wrong.
        error: String,
        /// When it is tried again; `None`: attempts spent, an incident for an operator.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_at: Option<Timestamp>,
    },
    /// The applicant withdrew the whole case.
    CaseWithdrawn,
    /// Nothing can progress any more: the outcome and the merged documents (统一出件).
    CaseClosed {
        /// The bundle outcome.
        outcome: Outcome,
        /// Documents merged from outputs.
        documents: Arc<serde_json::Map<String, serde_json::Value>>,
    },
}

impl EventKind {
    /// The snake_case name, as in the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::CaseSubmitted { .. } => "case_submitted",
            EventKind::TaskDispatched { .. } => "task_dispatched",
            EventKind::TaskFannedOut { .. } => "task_fanned_out",
            EventKind::TaskSkipped { .. } => "task_skipped",
            EventKind::TaskApproved { .. } => "task_approved",
            EventKind::TaskRejected { .. } => "task_rejected",
            EventKind::SupplementRequested { .. } => "supplement_requested",
            EventKind::Supplied { .. } => "supplied",
            EventKind::TaskWithdrawn { .. } => "task_withdrawn",
            EventKind::TaskCancelled { .. } => "task_cancelled",
            EventKind::TaskFailed { .. } => "task_failed",
            EventKind::CaseWithdrawn => "case_withdrawn",
            EventKind::CaseClosed { .. } => "case_closed",
        }
    }

    /// The task the event is about, if any.
    pub fn task(&self) -> Option<TaskRef> {
        match self {
            EventKind::TaskDispatched { task, .. }
            | EventKind::TaskFannedOut { task, .. }
            | EventKind::TaskSkipped { task }
            | EventKind::TaskApproved { task, .. }
            | EventKind::TaskRejected { task }
            | EventKind::SupplementRequested { task, .. }
            | EventKind::TaskWithdrawn { task }
            | EventKind::TaskCancelled { task, .. }
            | EventKind::TaskFailed { task, .. } => Some(*task),
            _ => None,
        }
    }
}
