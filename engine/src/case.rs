//! A case's state: what the events so far add up to.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use yijian_definitions::{Blueprint, TaskIdx};

use crate::calendar::Calendar;
use crate::command::{MaterialRef, Submission};
use crate::ids::{CaseNo, Part, TaskRef};

mod change;
pub use change::{SentBack, UnitChange};

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
    /// In a special step (特殊环节: 公示, 听证, 专家评审, 检验检测, 现场踏勘); its clock is paused.
    Suspended,
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
    /// Stopped because a deferred material (容缺) was not supplied in time (终止).
    Terminated,
    /// A 告知承诺 grant whose verification failed.
    Revoked,
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
                | UnitStatus::Terminated
                | UnitStatus::Revoked
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
            UnitStatus::Suspended => "suspended",
            UnitStatus::Approved => "approved",
            UnitStatus::Rejected => "rejected",
            UnitStatus::Skipped => "skipped",
            UnitStatus::Cancelled => "cancelled",
            UnitStatus::Withdrawn => "withdrawn",
            UnitStatus::Terminated => "terminated",
            UnitStatus::Revoked => "revoked",
        }
    }

    /// Every state, in the order of the life cycle.
    pub const ALL: [UnitStatus; 13] = [
        UnitStatus::Waiting,
        UnitStatus::Dispatched,
        UnitStatus::SupplementRequested,
        UnitStatus::RetryWait,
        UnitStatus::Incident,
        UnitStatus::Suspended,
        UnitStatus::Approved,
        UnitStatus::Rejected,
        UnitStatus::Skipped,
        UnitStatus::Cancelled,
        UnitStatus::Withdrawn,
        UnitStatus::Terminated,
        UnitStatus::Revoked,
    ];

    /// The state with this snake_case name.
    pub fn from_name(name: &str) -> Option<UnitStatus> {
        UnitStatus::ALL.into_iter().find(|s| s.as_str() == name)
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
    /// Retries left as the worker of the last failure counted them (Camunda's `retries`);
    /// `None` when the task's retry policy counts.
    pub retries: Option<u32>,
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
    /// When its promised limit ends (end of the due day), as last computed.
    pub due: Option<Timestamp>,
    /// When its statutory limit ends.
    pub statutory_due: Option<Timestamp>,
    /// When the yellow warning is due.
    pub warn_at: Option<Timestamp>,
    /// The warning level reached.
    pub warning: Warning,
    /// Closed pauses of its clock (补正, 特殊环节), and the open one.
    pub pauses: Vec<(Timestamp, Option<Timestamp>)>,
    /// The special step it is in, while suspended.
    pub special_step: Option<SpecialStep>,
    /// The back office's lease or claim on it.
    pub lease: Option<Box<Lease>>,
    /// The last lease token issued (fencing: every new lease gets a larger one).
    pub lease_seq: u64,
    /// Reassignment and send-back records (改派, 退回); `None` on an unchanged unit.
    pub changed: Option<Box<UnitChange>>,
}

/// A back office's hold on a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The fencing token.
    pub token: u64,
    /// The worker.
    pub worker: String,
    /// When it expires; `None` once the department accepted the item (a claim).
    pub expires_at: Option<Timestamp>,
    /// The department's receipt number (受理编号), once accepted.
    pub receipt_no: Option<String>,
}

impl Lease {
    /// Held at `now` (accepted claims never expire).
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

/// Deadline warning levels (预警).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Warning {
    /// In time.
    #[default]
    Green,
    /// Near the due time.
    Yellow,
    /// Past the due time and still open.
    Red,
}

impl Warning {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Warning::Green => "green",
            Warning::Yellow => "yellow",
            Warning::Red => "red",
        }
    }

    /// The level with this snake_case name.
    pub fn from_name(name: &str) -> Option<Warning> {
        [Warning::Green, Warning::Yellow, Warning::Red]
            .into_iter()
            .find(|w| w.as_str() == name)
    }
}

/// A special step (特殊环节, 行政许可法 第45条) excluded from time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SpecialStep {
    /// Public notice.
    #[serde(rename = "公示")]
    PublicNotice,
    /// Hearing.
    #[serde(rename = "听证")]
    Hearing,
    /// Expert review.
    #[serde(rename = "专家评审")]
    ExpertReview,
    /// Inspection or testing.
    #[serde(rename = "检验检测")]
    Inspection,
    /// Site survey.
    #[serde(rename = "现场踏勘")]
    SiteSurvey,
    /// Another step named in the note.
    #[serde(rename = "other")]
    Other,
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
    /// Granted by 告知承诺 (approved on the applicant's commitment).
    pub committed: bool,
    /// The verification after a 告知承诺 grant.
    pub verification: Option<Box<Unit>>,
}

/// A rectification task after a bad evaluation (好差评).
#[derive(Debug, Clone, PartialEq)]
pub struct Rectification {
    /// The department at fault.
    pub department: Arc<str>,
    /// The work.
    pub unit: Unit,
}

/// An evaluation (好差评) of a closed case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// 1 非常不满意 … 5 非常满意.
    pub grade: u8,
    /// The department rated, if one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The applicant's words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
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
    /// Proposed from a data event (免申即享); waits for the person's confirmation.
    Proposed,
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
    /// When a deferred material is due.
    pub due: Option<Timestamp>,
    /// Its due time passed without it (and the bundle escalates rather than terminates).
    pub overdue: bool,
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
    /// The channel that took the application (`window`, `portal`…), when recorded.
    pub channel: Option<Arc<str>>,
    /// The hash of the applicant's progress-query code ([`crate::Submission::progress_code`]).
    pub progress_code: Option<String>,
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
    /// This copy's line of descent, unique in the process: fresh for every state built
    /// from nothing (a new case, or a replay of stored events), kept by clones and by the
    /// commands decided on it. Commits carry it ([`crate::store::Commit::lineage`]) so
    /// the store can refuse a commit decided on top of one it refused.
    pub lineage: u64,
    /// The calendar its time limits are counted on.
    pub calendar: Option<Arc<Calendar>>,
    /// When the bundle's promised limit ends.
    pub due: Option<Timestamp>,
    /// When the bundle's statutory limit ends.
    pub statutory_due: Option<Timestamp>,
    /// When the case's yellow warning is due.
    pub warn_at: Option<Timestamp>,
    /// The case's warning level.
    pub warning: Warning,
    /// Pauses of the bundle's clock (`supplement.pause: case`).
    pub pauses: Vec<(Timestamp, Option<Timestamp>)>,
    /// The applicant must answer the open supplement requests by then.
    pub respond_by: Option<Timestamp>,
    /// Rectifications opened by bad evaluations.
    pub rectifications: Vec<Rectification>,
    /// Evaluations received.
    pub evaluations: Vec<Evaluation>,
    /// Where a proposed case came from (`source`, `event_id`).
    pub trigger: Option<(String, String)>,
    /// When its latest event happened (events of a case never go back in time).
    pub last_event_at: Option<Timestamp>,
}

/// A lineage number not given out before in this process.
fn next_lineage() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl CaseState {
    /// The state before any event.
    pub fn new(case_no: CaseNo, blueprint: Arc<Blueprint>) -> CaseState {
        let tasks = vec![TaskState::default(); blueprint.tasks.len()];
        let blueprint_calendar_id = blueprint.calendar.clone();
        CaseState {
            case_no,
            blueprint,
            phase: Phase::New,
            region: Arc::from(""),
            channel: None,
            progress_code: None,
            form: Arc::default(),
            materials: BTreeMap::new(),
            tasks,
            commitments: Vec::new(),
            accepted_at: None,
            closed_at: None,
            documents: Arc::default(),
            version: 0,
            lineage: next_lineage(),
            calendar: default_calendar(&blueprint_calendar_id),
            due: None,
            statutory_due: None,
            warn_at: None,
            warning: Warning::Green,
            pauses: Vec::new(),
            respond_by: None,
            rectifications: Vec::new(),
            evaluations: Vec::new(),
            trigger: None,
            last_event_at: None,
        }
    }

    /// The same state on another calendar (a deployment's own calendars).
    #[must_use]
    pub fn with_calendar(mut self, calendar: Option<Arc<Calendar>>) -> CaseState {
        self.calendar = calendar;
        self
    }

    /// The unit a reference points at.
    pub fn unit(&self, r: TaskRef) -> Option<&Unit> {
        match r.part {
            Part::Rectification => return self.rectifications.get(r.task.index()).map(|x| &x.unit),
            Part::Verification => return self.tasks.get(r.task.index())?.verification.as_deref(),
            _ => {}
        }
        let t = self.tasks.get(r.task.index())?;
        match r.instance {
            None => Some(&t.unit),
            Some(i) => t.instances.as_ref()?.get(i as usize),
        }
    }

    /// The unit a reference points at, mutably.
    pub fn unit_mut(&mut self, r: TaskRef) -> Option<&mut Unit> {
        match r.part {
            Part::Rectification => {
                return self
                    .rectifications
                    .get_mut(r.task.index())
                    .map(|x| &mut x.unit);
            }
            Part::Verification => {
                return self
                    .tasks
                    .get_mut(r.task.index())?
                    .verification
                    .as_deref_mut();
            }
            _ => {}
        }
        let t = self.tasks.get_mut(r.task.index())?;
        match r.instance {
            None => Some(&mut t.unit),
            Some(i) => t.instances.as_mut()?.get_mut(i as usize),
        }
    }

    /// The department of a unit.
    pub fn department(&self, r: TaskRef) -> Option<&Arc<str>> {
        match r.part {
            Part::Rectification => self
                .rectifications
                .get(r.task.index())
                .map(|x| &x.department),
            _ => self
                .blueprint
                .tasks
                .get(r.task.index())
                .map(|t| &t.department),
        }
    }

    /// The region whose department handles the unit: the case's, unless it was
    /// reassigned (改派).
    pub fn unit_region(&self, r: TaskRef) -> &Arc<str> {
        let of = |r: TaskRef| {
            self.unit(r)
                .and_then(|u| u.changed.as_ref())
                .and_then(|c| c.region.as_ref())
        };
        // An instance follows its task unless it was reassigned on its own.
        let whole = (r.part == Part::Main && r.instance.is_some())
            .then(|| of(TaskRef::task(r.task)))
            .flatten();
        of(r).or(whole).unwrap_or(&self.region)
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
            Phase::Proposed => "proposed",
            Phase::Running if self.awaiting_supplement() => "awaiting_supplement",
            Phase::Running => "running",
            Phase::Closed(o) => o.as_str(),
        }
    }

    /// Every work unit: plain tasks, the instances of fanned-out tasks, verifications and
    /// rectifications.
    pub fn units(&self) -> impl Iterator<Item = (TaskRef, &Unit)> + '_ {
        let main = self.tasks.iter().enumerate().flat_map(|(i, t)| {
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
            let verification = t
                .verification
                .as_deref()
                .map(|u| (TaskRef::verification(idx), u));
            single.into_iter().chain(many).chain(verification)
        });
        let rect = self
            .rectifications
            .iter()
            .enumerate()
            .map(|(n, r)| (TaskRef::rectification(n as u32), &r.unit));
        main.chain(rect)
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
            via: None,
            progress_code: self.progress_code.clone(),
            commitments: self
                .commitments
                .iter()
                .map(|i| self.blueprint.spec(*i).id.clone())
                .collect(),
        }
    }
}

/// The built-in calendar with this id, shared by every case that uses it.
fn default_calendar(id: &str) -> Option<Arc<Calendar>> {
    static BUILTIN: std::sync::OnceLock<Vec<Arc<Calendar>>> = std::sync::OnceLock::new();
    let all = BUILTIN.get_or_init(|| {
        crate::calendar::Calendars::builtin()
            .map(|c| c.iter().cloned().map(Arc::new).collect())
            .unwrap_or_default()
    });
    all.iter().find(|c| c.id().as_str() == id).cloned()
}
