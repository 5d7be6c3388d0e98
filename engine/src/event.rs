//! Events: the truth about a case and its audit trail (全程留痕).
//!
//! Every change of a case is an event with its actor, time and reason. Replaying a case's
//! events from an empty state gives the live state; expressions are evaluated when an event
//! is decided and their results recorded in it, so replay needs no evaluation.

use std::collections::BTreeMap;
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
    /// The applicant did not answer a supplement request in time.
    Abandoned,
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
    /// The case was accepted (受理): its clock starts (the day of acceptance not counted).
    CaseAccepted {
        /// When the bundle's promised limit ends.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<Timestamp>,
        /// When its statutory limit ends.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        statutory_due: Option<Timestamp>,
        /// When the case's yellow warning is due.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warn_at: Option<Timestamp>,
        /// When each deferred (容缺) material is due.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        deferred_due: Vec<(String, Timestamp)>,
    },
    /// A data event proposed the case (免申即享); it waits for confirmation.
    CaseProposed {
        /// The pre-filled application.
        submission: Arc<Submission>,
        /// The data-sharing system.
        source: String,
        /// Its event id.
        event_id: String,
    },
    /// A task was handed to its department.
    TaskDispatched {
        /// The task or instance.
        task: TaskRef,
        /// Attempt number, from 1.
        attempt: u32,
        /// The evaluated `input`.
        input: Arc<serde_json::Value>,
        /// When its promised limit ends (pauses so far excluded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<Timestamp>,
        /// When its statutory limit ends.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        statutory_due: Option<Timestamp>,
        /// When its yellow warning is due.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warn_at: Option<Timestamp>,
    },
    /// Granted at once on the applicant's commitment (告知承诺); verification follows.
    TaskGranted {
        /// The task.
        task: TaskRef,
    },
    /// The department entered a special step (特殊环节); the clock pauses.
    TaskSuspended {
        /// The task or instance.
        task: TaskRef,
        /// Which step.
        step: crate::case::SpecialStep,
        /// What it is about.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
        /// When the department expects to resume.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected: Option<Timestamp>,
    },
    /// The special step ended; the clock runs again with a new due time.
    TaskResumed {
        /// The task or instance.
        task: TaskRef,
        /// The new due time (the suspended working days excluded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<Timestamp>,
        /// The new statutory due time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        statutory_due: Option<Timestamp>,
        /// The new yellow warning time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warn_at: Option<Timestamp>,
    },
    /// A deadline warning (预警 / 电子监察): a unit, or the case (`task` absent).
    Warning {
        /// The unit, or none for the case.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<TaskRef>,
        /// Yellow or red.
        level: crate::case::Warning,
        /// The due time it is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<Timestamp>,
    },
    /// The bundle's due time moved (its clock was paused by a case-wide supplement).
    CaseDueChanged {
        /// The new due time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<Timestamp>,
        /// The new statutory due time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        statutory_due: Option<Timestamp>,
        /// The new yellow warning time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warn_at: Option<Timestamp>,
    },
    /// A deferred material (容缺) was not supplied by its due time.
    MaterialOverdue {
        /// The material.
        material: String,
        /// `escalate` (keep waiting, red warning) rather than `terminate`.
        escalated: bool,
    },
    /// A task stopped because a deferred material did not arrive in time (终止).
    TaskTerminated {
        /// The task or instance.
        task: TaskRef,
        /// The material that did not arrive.
        material: String,
    },
    /// A 告知承诺 grant was revoked: its verification failed. Also on a closed case.
    TaskRevoked {
        /// The task.
        task: TaskRef,
        /// The merged documents that no longer stand.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        documents: Vec<String>,
    },
    /// A back office leased the unit from its queue.
    TaskLeased {
        /// The unit.
        task: TaskRef,
        /// The fencing token (strictly larger for every new lease of the unit).
        token: u64,
        /// The worker.
        worker: String,
        /// When the lease expires unless extended.
        expires_at: Timestamp,
    },
    /// The lease was extended.
    LeaseExtended {
        /// The unit.
        task: TaskRef,
        /// The token.
        token: u64,
        /// The new expiry.
        expires_at: Timestamp,
    },
    /// The lease expired: the unit is back in its queue.
    LeaseExpired {
        /// The unit.
        task: TaskRef,
        /// The token that expired.
        token: u64,
    },
    /// The department formally accepted the item (受理).
    TaskAccepted {
        /// The unit.
        task: TaskRef,
        /// The token of the lease that became a claim.
        token: u64,
        /// The department's receipt number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receipt_no: Option<String>,
    },
    /// The applicant rated the case (好差评).
    Evaluated {
        /// The rating.
        evaluation: crate::case::Evaluation,
        /// The department a rectification task goes to, for 不满意 or worse.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rectification: Option<Arc<str>>,
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
        /// The applicant's deadline for the merged notice (一次性告知).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        respond_by: Option<Timestamp>,
    },
    /// The applicant supplied what was asked (and/or deferred materials).
    Supplied {
        /// Form fields given or corrected.
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        form: Box<serde_json::Map<String, serde_json::Value>>,
        /// Materials given.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        materials: std::collections::BTreeMap<String, MaterialRef>,
        /// Where it was handed in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        via: Option<crate::command::Via>,
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
        /// Retries left as the failing worker counted them, when it did (Camunda's
        /// `retries`); `None`: the task's retry policy decided.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retries: Option<u32>,
    },
    /// The applicant withdrew the whole case.
    CaseWithdrawn,
    /// 退回: a downstream department returned the task's result (reason in the event); the
    /// task waits to be dispatched again.
    TaskSentBack {
        /// The task whose result was returned.
        task: TaskRef,
        /// The task whose department returned it.
        by: TaskRef,
        /// The output it had approved.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_output: Option<Arc<serde_json::Value>>,
    },
    /// An open task waits again because an upstream result it used was sent back; its
    /// clock pauses until it is dispatched again.
    TaskHeld {
        /// The task.
        task: TaskRef,
        /// The upstream task being redone.
        upstream: TaskRef,
    },
    /// 加办: an optional item was added to the running case, with the form changes and
    /// materials it came with.
    ItemAdded {
        /// The task.
        task: TaskRef,
        /// Form fields changed.
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        form: Box<serde_json::Map<String, serde_json::Value>>,
        /// Materials given.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        materials: std::collections::BTreeMap<String, MaterialRef>,
        /// Where it was asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        via: Option<Box<crate::command::Via>>,
    },
    /// 改派: the unit was moved to the department of its kind in another region.
    TaskReassigned {
        /// The unit.
        task: TaskRef,
        /// The region it was handled in.
        from: String,
        /// The region that handles it now.
        region: String,
    },
    /// The case moved to another version of its bundle (migration): `tasks[i]` is the
    /// new index of the old version's task `i` (none: removed). Events after this one
    /// name tasks by the new version's indices.
    CaseMigrated {
        /// The version it ran on.
        from: u32,
        /// The version it runs on now.
        to: u32,
        /// What changed (boxed: every event in memory is as large as the largest kind).
        #[serde(flatten)]
        change: Box<Migration>,
    },
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
            EventKind::CaseAccepted { .. } => "case_accepted",
            EventKind::CaseProposed { .. } => "case_proposed",
            EventKind::TaskGranted { .. } => "task_granted",
            EventKind::TaskSuspended { .. } => "task_suspended",
            EventKind::TaskResumed { .. } => "task_resumed",
            EventKind::Warning { level, .. } => match level {
                crate::case::Warning::Red => "warning_red",
                _ => "warning_yellow",
            },
            EventKind::CaseDueChanged { .. } => "case_due_changed",
            EventKind::MaterialOverdue { .. } => "material_overdue",
            EventKind::TaskTerminated { .. } => "task_terminated",
            EventKind::TaskRevoked { .. } => "task_revoked",
            EventKind::Evaluated { .. } => "evaluated",
            EventKind::TaskLeased { .. } => "task_leased",
            EventKind::LeaseExtended { .. } => "lease_extended",
            EventKind::LeaseExpired { .. } => "lease_expired",
            EventKind::TaskAccepted { .. } => "task_accepted",
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
            EventKind::TaskSentBack { .. } => "task_sent_back",
            EventKind::TaskHeld { .. } => "task_held",
            EventKind::ItemAdded { .. } => "item_added",
            EventKind::TaskReassigned { .. } => "task_reassigned",
            EventKind::CaseMigrated { .. } => "case_migrated",
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
            | EventKind::TaskFailed { task, .. }
            | EventKind::TaskGranted { task }
            | EventKind::TaskSuspended { task, .. }
            | EventKind::TaskResumed { task, .. }
            | EventKind::TaskTerminated { task, .. }
            | EventKind::TaskRevoked { task, .. }
            | EventKind::TaskLeased { task, .. }
            | EventKind::LeaseExtended { task, .. }
            | EventKind::LeaseExpired { task, .. }
            | EventKind::TaskAccepted { task, .. }
            | EventKind::TaskSentBack { task, .. }
            | EventKind::TaskHeld { task, .. }
            | EventKind::ItemAdded { task, .. }
            | EventKind::TaskReassigned { task, .. } => Some(*task),
            EventKind::Warning { task, .. } => *task,
            _ => None,
        }
    }
}

/// A blueprint carried by an event or a command that is not stored with it: compared by
/// bundle id and version.
#[derive(Clone)]
pub struct Pinned(pub Arc<yijian_definitions::Blueprint>);

impl PartialEq for Pinned {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id && self.0.version == other.0.version
    }
}

impl std::fmt::Debug for Pinned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.0.id, self.0.version)
    }
}

/// What a migration changed (the body of [`EventKind::CaseMigrated`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    /// Old task index → new task index (none: removed).
    pub tasks: Vec<Option<u32>>,
    /// Old task id → new task id, for the tasks kept (renamed ones differ).
    pub kept: BTreeMap<String, String>,
    /// Tasks of the new version the case did not have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// Tasks of the old version dropped (none of them was dispatched).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// The bundle's due time under the new version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    /// The statutory due time (never earlier than before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statutory_due: Option<Timestamp>,
    /// The new yellow warning time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_at: Option<Timestamp>,
    /// The new version's blueprint: not stored (the version number is); filled in by
    /// whoever decides or replays the event ([`crate::machine::pin_blueprints`]).
    #[serde(skip)]
    pub blueprint: Option<Pinned>,
}
