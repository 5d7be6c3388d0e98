//! Read models: a case as the window, a supervisor or a test wants to see it.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::case::{CaseState, Evaluation, Missing, SpecialStep, Unit, UnitStatus, Warning};
use crate::ids::CaseNo;

/// A case, for display and the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseView {
    /// The case number.
    pub case_no: CaseNo,
    /// Bundle id.
    pub bundle: String,
    /// Bundle version.
    pub version: u32,
    /// Region code.
    pub region: String,
    /// The channel that took the application (`window`, `portal`…), when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The sealed progress-query code of the submission ([`crate::Submission::progress_code`]):
    /// tells the caller whether a submission created the case or found it. Never
    /// serialised.
    #[serde(skip)]
    pub progress_code: Option<String>,
    /// `running`, `awaiting_supplement`, or the outcome.
    pub status: String,
    /// The outcome, once closed.
    pub outcome: Option<String>,
    /// Accepted at.
    pub accepted_at: Option<Timestamp>,
    /// Closed at.
    pub closed_at: Option<Timestamp>,
    /// When the bundle's promised limit ends (承诺时限), pauses excluded.
    pub due: Option<Timestamp>,
    /// When its statutory limit ends (法定时限).
    pub statutory_due: Option<Timestamp>,
    /// The case's deadline warning level.
    pub warning: Warning,
    /// The applicant's deadline to answer the open supplement notice.
    pub respond_by: Option<Timestamp>,
    /// Every task.
    pub tasks: Vec<TaskView>,
    /// Every open supplement request, merged into one notice (一次性告知).
    pub supplement_notice: Vec<NoticeItem>,
    /// Materials accepted as missing (容缺), still to be supplied, with their due times.
    pub deferred_materials: Vec<DeferredView>,
    /// Evaluations (好差评) received.
    pub evaluations: Vec<Evaluation>,
    /// Documents merged at closing (统一出件).
    pub documents: serde_json::Map<String, Value>,
    /// Number of events.
    pub event_count: u64,
}

/// A task (or an instance of a `for_each` task).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskView {
    /// `licence`, `partner_check[1]`.
    pub name: String,
    /// Title.
    pub title: String,
    /// Department id.
    pub department: String,
    /// Status.
    pub status: UnitStatus,
    /// Dispatches so far.
    pub attempts: u32,
    /// Reason of a refusal, withdrawal, cancellation or failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Output once approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// When a retry is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    /// When its promised limit ends, pauses excluded.
    pub due: Option<Timestamp>,
    /// When its statutory limit ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statutory_due: Option<Timestamp>,
    /// Deadline warning level.
    pub warning: Warning,
    /// The special step (特殊环节) it is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub special_step: Option<SpecialStep>,
    /// The region whose department handles it, when it was reassigned there (改派).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// How often its result was sent back (退回).
    #[serde(skip_serializing_if = "is_zero")]
    pub send_backs: u32,
    /// The latest send-back: by which task, why, and the output approved before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_back: Option<SentBackView>,
}

/// A send-back (退回) as the case view shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentBackView {
    /// The task whose department returned the result.
    pub by: String,
    /// Why.
    pub reason: String,
    /// The output approved before.
    pub previous_output: Option<Value>,
    /// When.
    pub at: Timestamp,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A material accepted as missing (容缺).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeferredView {
    /// The material id.
    pub material: String,
    /// When it must arrive.
    pub due: Option<Timestamp>,
    /// Its due time passed.
    pub overdue: bool,
}

/// One line of the merged supplement notice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeItem {
    /// The task that asks.
    pub task: String,
    /// Its department.
    pub department: String,
    /// What is missing.
    #[serde(flatten)]
    pub missing: Missing,
}

impl CaseView {
    /// The view of a case state.
    pub fn of(state: &CaseState) -> CaseView {
        let bp = &state.blueprint;
        let mut tasks = Vec::with_capacity(state.tasks.len());
        let mut notice = Vec::new();
        for (r, unit) in state.units() {
            let name = r.name(bp);
            let department = state
                .department(r)
                .map(|d| d.to_string())
                .unwrap_or_default();
            let title = match r.part {
                crate::ids::Part::Rectification => "好差评整改".to_owned(),
                crate::ids::Part::Verification => {
                    format!("{}（告知承诺核查）", bp.spec(r.task).title)
                }
                _ => bp.spec(r.task).title.clone(),
            };
            for m in &unit.missing {
                notice.push(NoticeItem {
                    task: name.clone(),
                    department: department.clone(),
                    missing: m.clone(),
                });
            }
            let mut view = task_view(name, &title, &department, unit);
            if let Some(c) = &unit.changed {
                let region = state.unit_region(r);
                view.region =
                    (!std::sync::Arc::ptr_eq(region, &state.region)).then(|| region.to_string());
                view.send_backs = c.send_backs;
                view.sent_back = c.sent_back.as_ref().map(|b| SentBackView {
                    by: b.by.name(bp),
                    reason: b.reason.clone(),
                    previous_output: b.previous_output.as_deref().cloned(),
                    at: b.at,
                });
            }
            tasks.push(view);
        }
        CaseView {
            channel: state.channel.as_deref().map(str::to_owned),
            progress_code: state.progress_code.clone(),
            case_no: state.case_no.clone(),
            bundle: bp.id.to_string(),
            version: bp.version,
            region: state.region.to_string(),
            status: state.status().to_owned(),
            outcome: state.outcome().map(|o| o.as_str().to_owned()),
            accepted_at: state.accepted_at,
            closed_at: state.closed_at,
            tasks,
            supplement_notice: notice,
            deferred_materials: state
                .materials
                .iter()
                .filter(|(_, m)| m.deferred)
                .map(|(k, m)| DeferredView {
                    material: k.clone(),
                    due: m.due,
                    overdue: m.overdue,
                })
                .collect(),
            evaluations: state.evaluations.clone(),
            due: state.due,
            statutory_due: state.statutory_due,
            warning: state.warning,
            respond_by: state.respond_by,
            documents: (*state.documents).clone(),
            event_count: state.version,
        }
    }

    /// The task (or instance) with this name.
    pub fn task(&self, name: &str) -> Option<&TaskView> {
        self.tasks.iter().find(|t| t.name == name)
    }
}

fn task_view(name: String, title: &str, department: &str, u: &Unit) -> TaskView {
    TaskView {
        name,
        title: title.to_owned(),
        department: department.to_owned(),
        status: u.status,
        attempts: u.attempts,
        reason: u.reason.clone(),
        output: u.output.as_deref().cloned(),
        retry_at: u.retry_at,
        due: u.due,
        statutory_due: u.statutory_due,
        warning: u.warning,
        special_step: u.special_step,
        region: None,
        send_backs: 0,
        sent_back: None,
    }
}
