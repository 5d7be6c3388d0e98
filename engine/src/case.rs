//! A case's state: what the events so far add up to.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use yijian_definitions::{Blueprint, TaskIdx};

use crate::command::{MaterialRef, Submission};
use crate::ids::{CaseNo, TaskRef};

/// A shared empty JSON object: most tasks take no input and give no output, and each
/// case would otherwise allocate one per task.
pub fn empty_object() -> Arc<serde_json::Value> {
    static EMPTY: std::sync::OnceLock<Arc<serde_json::Value>> = std::sync::OnceLock::new();
    EMPTY
        .get_or_init(|| Arc::new(serde_json::Value::Object(serde_json::Map::new())))
        .clone()
}

/// The life-cycle state of a task or task instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnitStatus {
    /// Upstream tasks are not settled yet.
    #[default]
    Waiting,
    /// With its department.
    Dispatched,
    /// Waiting for the applicant (补正); its clock is paused.
    SupplementRequested,
    /// A technical failure; tried again at the recorded time.
    RetryWait,
    /// Technical attempts spent; an operator must retry or cancel.
    Incident,
    /// Approved (准予), with output.
    Approved,
    /// Refused (不予许可).
    Rejected,
    /// `when` was false: settled without work.
    Skipped,
    /// Will not run (upstream refused or withdrawn, all-or-nothing bundle, operator).
    Cancelled,
    /// The applicant dropped it (撤回).
    Withdrawn,
}

impl UnitStatus {
    /// Final: nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            UnitStatus::Approved
                | UnitStatus::Rejected
                | UnitStatus::Skipped
                | UnitStatus::Cancelled
                | UnitStatus::Withdrawn
        )
    }

    /// Settled so that dependants may run (approved or skipped).
    pub fn lets_dependants_run(self) -> bool {
        matches!(self, UnitStatus::Approved | UnitStatus::Skipped)
    }

    /// Open: still with a department, the applicant, or an operator.
    pub fn is_open(self) -> bool {
        !self.is_final() && self != UnitStatus::Waiting
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitStatus::Waiting => "waiting",
            UnitStatus::Dispatched => "dispatched",
            UnitStatus::SupplementRequested => "supplement_requested",
            UnitStatus::RetryWait => "retry_wait",
            UnitStatus::Incident => "incident",
            UnitStatus::Approved => "approved",
            UnitStatus::Rejected => "rejected",
            UnitStatus::Skipped => "skipped",
            UnitStatus::Cancelled => "cancelled",
            UnitStatus::Withdrawn => "withdrawn",
        }
    }
}

impl fmt::Display for UnitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One missing item in a supplement request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Missing {
    /// A material id, when a material is missing or unusable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub material: Option<String>,
    /// A form field, when a field is missing or wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong with it, for the applicant.
    pub reason: String,
}

/// The work state of a task or of one instance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Unit {
    /// Where it is in its life cycle.
    pub status: UnitStatus,
    /// Dispatches so far (the first is 1).
    pub attempts: u32,
    /// Technical failures since the last operator retry (retry bookkeeping).
    pub failures: u32,
    /// The input of the latest dispatch.
    pub input: Option<Arc<serde_json::Value>>,
    /// The output, once approved.
    pub output: Option<Arc<serde_json::Value>>,
    /// The reason of a refusal, withdrawal, cancellation or failure.
    pub reason: Option<String>,
    /// The open supplement request.
    pub missing: Vec<Missing>,
    /// When a retry is due.
    pub retry_at: Option<Timestamp>,
    /// When it was first dispatched.
    pub dispatched_at: Option<Timestamp>,
    /// When it became final.
    pub settled_at: Option<Timestamp>,
}

/// A task in a case: one unit, or one per element for a `for_each` task.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskState {
    /// The task as a whole (for a fan-out, the join of its instances).
    pub unit: Unit,
    /// The instances of a `for_each` task, once fanned out.
    pub instances: Option<Vec<Unit>>,
    /// The elements the instances run on.
    pub items: Option<Arc<Vec<serde_json::Value>>>,
    /// Withdrawn by the applicant, or cancelled because of such a withdrawal:
    /// not counted against the bundle's outcome.
    pub dropped: bool,
}

/// The outcome of a closed case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Every task approved or skipped.
    Completed,
    /// Some results delivered, some refused or cancelled.
    PartiallyCompleted,
    /// Nothing delivered because of refusals (or an all-or-nothing refusal).
    Refused,
    /// Tasks terminated (容缺 overdue) and nothing else delivered.
    Terminated,
    /// The applicant withdrew the case.
    Withdrawn,
    /// The applicant did not answer a supplement request in time.
    Abandoned,
}

impl Outcome {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::PartiallyCompleted => "partially_completed",
            Outcome::Refused => "refused",
            Outcome::Terminated => "terminated",
            Outcome::Withdrawn => "withdrawn",
            Outcome::Abandoned => "abandoned",
        }
    }
}

/// The case's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Phase {
    /// Not submitted yet.
    #[default]
    New,
    /// Accepted and running.
    Running,
    /// Closed with an outcome.
    Closed(Outcome),
}

/// A material's state in a case.
#[derive(Debug, Clone, PartialEq)]
pub struct MaterialState {
    /// The file, once supplied (or the reference for shared/task materials).
    pub file: Option<MaterialRef>,
    /// Provided (uploaded, shared and available, or produced by its task).
    pub provided: bool,
    /// Accepted as missing (容缺), still to be supplied.
    pub deferred: bool,
}

/// Everything the events of one case add up to.
#[derive(Debug, Clone)]
pub struct CaseState {
    /// The case number.
    pub case_no: CaseNo,
    /// The blueprint the case runs on, to its end.
    pub blueprint: Arc<Blueprint>,
    /// Phase and outcome.
    pub phase: Phase,
    /// Region code.
    pub region: Arc<str>,
    /// The form, with defaults applied and supplements merged.
    pub form: Arc<serde_json::Map<String, serde_json::Value>>,
    /// Materials by id.
    pub materials: BTreeMap<String, MaterialState>,
    /// Tasks by blueprint index.
    pub tasks: Vec<TaskState>,
    /// Tasks the applicant took by 告知承诺.
    pub commitments: Vec<TaskIdx>,
    /// When the case was accepted.
    pub accepted_at: Option<Timestamp>,
    /// When it closed.
    pub closed_at: Option<Timestamp>,
    /// Documents merged at closing.
    pub documents: Arc<serde_json::Map<String, serde_json::Value>>,
    /// Number of events applied.
    pub version: u64,
}

impl CaseState {
    /// The state before any event.
    pub fn new(case_no: CaseNo, blueprint: Arc<Blueprint>) -> CaseState {
        let tasks = vec![TaskState::default(); blueprint.tasks.len()];
        CaseState {
            case_no,
            blueprint,
            phase: Phase::New,
            region: Arc::from(""),
            form: Arc::default(),
            materials: BTreeMap::new(),
            tasks,
            commitments: Vec::new(),
            accepted_at: None,
            closed_at: None,
            documents: Arc::default(),
            version: 0,
        }
    }

    /// The unit a reference points at.
    pub fn unit(&self, r: TaskRef) -> Option<&Unit> {
        let t = self.tasks.get(r.task.index())?;
        match r.instance {
            None => Some(&t.unit),
            Some(i) => t.instances.as_ref()?.get(i as usize),
        }
    }

    /// The unit a reference points at, mutably.
    pub fn unit_mut(&mut self, r: TaskRef) -> Option<&mut Unit> {
        let t = self.tasks.get_mut(r.task.index())?;
        match r.instance {
            None => Some(&mut t.unit),
            Some(i) => t.instances.as_mut()?.get_mut(i as usize),
        }
    }

    /// Is the case closed?
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed(_))
    }

    /// The outcome, once closed.
    pub fn outcome(&self) -> Option<Outcome> {
        match self.phase {
            Phase::Closed(o) => Some(o),
            _ => None,
        }
    }

    /// Is any task waiting for the applicant (补正)?
    pub fn awaiting_supplement(&self) -> bool {
        self.units()
            .any(|(_, u)| u.status == UnitStatus::SupplementRequested)
    }

    /// The case status as shown to people: `running`, `awaiting_supplement`, or the outcome.
    pub fn status(&self) -> &'static str {
        match self.phase {
            Phase::New => "new",
            Phase::Running if self.awaiting_supplement() => "awaiting_supplement",
            Phase::Running => "running",
            Phase::Closed(o) => o.as_str(),
        }
    }

    /// Every work unit: plain tasks, and the instances of fanned-out tasks.
    pub fn units(&self) -> impl Iterator<Item = (TaskRef, &Unit)> + '_ {
        self.tasks.iter().enumerate().flat_map(|(i, t)| {
            let idx = TaskIdx(i as u32);
            let single = match t.instances {
                None => Some((TaskRef::task(idx), &t.unit)),
                Some(_) => None,
            };
            let many = t
                .instances
                .iter()
                .flatten()
                .enumerate()
                .map(move |(n, u)| (TaskRef::instance(idx, n as u32), u));
            single.into_iter().chain(many)
        })
    }

    /// The submission, as the submitted form and materials now stand.
    pub fn submission(&self) -> Submission {
        Submission {
            region: self.region.to_string(),
            form: (*self.form).clone(),
            materials: self
                .materials
                .iter()
                .filter_map(|(k, m)| Some((k.clone(), m.file.clone()?)))
                .collect(),
            unavailable: Vec::new(),
            commitments: self
                .commitments
                .iter()
                .map(|i| self.blueprint.spec(*i).id.clone())
                .collect(),
        }
    }
}
