//! Case bodies: submissions, the case as the window sees it, events, search.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use yijian_engine::MaterialRef;
use yijian_engine::view::{CaseView, TaskView};

use super::time;
use crate::serve::task_id::TaskId;

/// A material as uploaded: a file the back office can fetch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialBody {
    /// File name.
    pub name: String,
    /// SHA-256 of the content, hex.
    #[serde(default)]
    pub sha256: String,
    /// Where the back office fetches it.
    #[serde(default)]
    pub uri: Option<String>,
}

impl From<MaterialBody> for MaterialRef {
    fn from(m: MaterialBody) -> MaterialRef {
        MaterialRef {
            name: m.name,
            sha256: m.sha256,
            uri: m.uri,
        }
    }
}

/// `POST /v1/cases`: an application (一表申请 + 一套材料).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// Bundle id.
    pub bundle: String,
    /// Bundle version (default: the latest).
    #[serde(default)]
    pub version: Option<u32>,
    /// 区划代码 where the case is handled (default: the token's scope, else the root).
    #[serde(default)]
    pub region: Option<String>,
    /// The form.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub form: Map<String, Value>,
    /// Materials by material id.
    #[serde(default)]
    pub materials: BTreeMap<String, MaterialBody>,
    /// Tasks the applicant takes by 告知承诺 (where the bundle allows it).
    #[serde(default)]
    pub commitments: Vec<String>,
    /// Shared materials the data-sharing platform could not deliver.
    #[serde(default)]
    pub unavailable: Vec<String>,
    /// The same key again returns the first answer.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The channel taking the application: `window` (default), `portal`, `app`, `kiosk`,
    /// or an integrator's own name (`[a-z][a-z0-9_-]*`).
    #[serde(default)]
    pub channel: Option<String>,
    /// The window, terminal or portal that took it (default: the token's name).
    #[serde(default)]
    pub taken_by: Option<String>,
}

/// `POST /v1/triggers`: a data event proposing a case (免申即享).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    /// Bundle id.
    pub bundle: String,
    /// The pre-filled form.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub form: Map<String, Value>,
    /// 区划代码 of the case.
    #[serde(default)]
    pub region: Option<String>,
    /// The data-sharing system.
    pub source: String,
    /// Its event id: the same source + event id again returns the same case.
    pub event_id: String,
}

/// `POST /v1/cases/{case_no}/supplements`: answers the open supplement notice.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplementBody {
    /// Form fields given or corrected.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub form: Map<String, Value>,
    /// Materials given.
    #[serde(default)]
    pub materials: BTreeMap<String, MaterialBody>,
    /// The channel it is handed in on (default `window`); a case continues on any channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// The window, terminal or portal that took it (default: the token's name).
    #[serde(default)]
    pub taken_by: Option<String>,
}

/// `POST /v1/cases/{case_no}/withdraw`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    /// Why (required).
    pub reason: String,
    /// Only these tasks (their dependants are cancelled); absent: the whole case.
    #[serde(default)]
    pub tasks: Option<Vec<String>>,
}

/// `POST /v1/cases/{case_no}/evaluation` (好差评).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationBody {
    /// 1 非常不满意, 2 不满意, 3 基本满意, 4 满意, 5 非常满意.
    pub grade: u8,
    /// The applicant's words.
    #[serde(default)]
    pub comment: String,
    /// The department rated (a bad grade opens its rectification task).
    #[serde(default)]
    pub department: Option<String>,
}

/// A task (or an instance, verification or rectification) of a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskBody {
    /// `<case_no>:<name>`: the id of the task endpoints (percent-encode it in paths).
    pub task_id: String,
    /// `licence`, `partner_check[1]`, `fire_check.verify`, `rectify[0]`.
    pub name: String,
    /// Title.
    pub title: String,
    /// Department id.
    pub department: String,
    /// waiting, dispatched, supplement_requested, retry_wait, incident, suspended,
    /// approved, rejected, skipped, cancelled, withdrawn, terminated, revoked.
    pub status: String,
    /// Dispatches so far.
    pub attempts: u32,
    /// When its promised limit ends, pauses excluded (RFC 3339).
    pub deadline: Option<String>,
    /// When its statutory limit ends.
    pub statutory_deadline: Option<String>,
    /// green, yellow or red.
    pub warning: String,
    /// Reason of a refusal, withdrawal, cancellation or failure.
    pub reason: Option<String>,
    /// Output once approved.
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    /// When a retry is due.
    pub retry_at: Option<String>,
    /// The special step (特殊环节) it is in.
    pub special_step: Option<String>,
    /// 区划代码 of the department handling it, when it was reassigned there (改派).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// How often its result was sent back (退回).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_backs: Option<u32>,
    /// The latest send-back: by which task, why, and the output approved before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_back: Option<super::SentBackBody>,
}

impl TaskBody {
    fn of(case_no: &str, t: &TaskView) -> TaskBody {
        TaskBody {
            task_id: TaskId::format(case_no, &t.name),
            name: t.name.clone(),
            title: t.title.clone(),
            department: t.department.clone(),
            status: t.status.as_str().to_owned(),
            attempts: t.attempts,
            deadline: time(t.due),
            statutory_deadline: time(t.statutory_due),
            warning: t.warning.as_str().to_owned(),
            reason: t.reason.clone(),
            output: t.output.clone(),
            retry_at: time(t.retry_at),
            special_step: t
                .special_step
                .and_then(|s| serde_json::to_value(s).ok())
                .and_then(|v| v.as_str().map(str::to_owned)),
            region: t.region.clone(),
            send_backs: (t.send_backs > 0).then_some(t.send_backs),
            sent_back: t.sent_back.as_ref().map(super::SentBackBody::from),
        }
    }
}

/// One line of the supplement notice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeItemBody {
    /// The task that asks.
    pub task: String,
    /// Its department.
    pub department: String,
    /// A material id, when a material is missing.
    pub material: Option<String>,
    /// A form field, when a field is missing or wrong.
    pub field: Option<String>,
    /// What is wrong with it.
    pub reason: String,
}

/// Every open supplement request, merged into one notice (一次性告知).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeBody {
    /// The applicant's deadline to answer.
    pub respond_by: Option<String>,
    /// What is missing, from every task.
    pub items: Vec<NoticeItemBody>,
}

/// A material accepted as missing (容缺).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeferredBody {
    /// Material id.
    pub material: String,
    /// When it must arrive.
    pub due: Option<String>,
    /// Its due time passed.
    pub overdue: bool,
}

/// The merged result (统一出件), once closed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultBody {
    /// completed, partially_completed, refused, terminated, withdrawn, abandoned.
    pub outcome: String,
    /// Documents merged from the tasks' outputs.
    #[schema(value_type = Object)]
    pub documents: Map<String, Value>,
    /// When it closed.
    pub closed_at: Option<String>,
}

/// A case as the window sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseBody {
    /// The case number (办件编号).
    pub case_no: String,
    /// proposed, running, awaiting_supplement, or the outcome.
    pub status: String,
    /// Bundle id.
    pub bundle: String,
    /// Bundle version.
    pub version: u32,
    /// 区划代码.
    pub region: String,
    /// The channel that took the application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The applicant's progress-query code (办件进度查询码), only in the answer to the
    /// submission: print it on the receipt (受理回执) with the case number. yijian keeps only
    /// its hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_code: Option<String>,
    /// Accepted at (受理).
    pub accepted_at: Option<String>,
    /// When the bundle's promised limit ends, pauses excluded.
    pub deadline: Option<String>,
    /// When its statutory limit ends.
    pub statutory_deadline: Option<String>,
    /// The case's warning level: green, yellow or red.
    pub warning: String,
    /// Every task.
    pub tasks: Vec<TaskBody>,
    /// The open supplement requests as one notice, if any.
    pub supplement_notice: Option<NoticeBody>,
    /// Materials accepted as missing, still to come.
    pub deferred_materials: Vec<DeferredBody>,
    /// Evaluations (好差评) received.
    #[schema(value_type = Vec<Object>)]
    pub evaluations: Vec<Value>,
    /// The merged result, once closed.
    pub result: Option<ResultBody>,
    /// Number of events in the audit trail.
    pub event_count: u64,
}

impl From<&CaseView> for CaseBody {
    fn from(v: &CaseView) -> CaseBody {
        let no = v.case_no.as_str();
        let notice = (!v.supplement_notice.is_empty()).then(|| NoticeBody {
            respond_by: time(v.respond_by),
            items: v
                .supplement_notice
                .iter()
                .map(|n| NoticeItemBody {
                    task: n.task.clone(),
                    department: n.department.clone(),
                    material: n.missing.material.clone(),
                    field: n.missing.field.clone(),
                    reason: n.missing.reason.clone(),
                })
                .collect(),
        });
        CaseBody {
            case_no: no.to_owned(),
            status: v.status.clone(),
            bundle: v.bundle.clone(),
            version: v.version,
            region: v.region.clone(),
            channel: v.channel.clone(),
            progress_code: None,
            accepted_at: time(v.accepted_at),
            deadline: time(v.due),
            statutory_deadline: time(v.statutory_due),
            warning: v.warning.as_str().to_owned(),
            tasks: v.tasks.iter().map(|t| TaskBody::of(no, t)).collect(),
            supplement_notice: notice,
            deferred_materials: v
                .deferred_materials
                .iter()
                .map(|d| DeferredBody {
                    material: d.material.clone(),
                    due: time(d.due),
                    overdue: d.overdue,
                })
                .collect(),
            evaluations: v
                .evaluations
                .iter()
                .filter_map(|e| serde_json::to_value(e).ok())
                .collect(),
            result: v.outcome.as_ref().map(|o| ResultBody {
                outcome: o.clone(),
                documents: v.documents.clone(),
                closed_at: time(v.closed_at),
            }),
            event_count: v.event_count,
        }
    }
}

/// `GET /v1/cases/{case_no}/events`: one page of the audit trail, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventsPage {
    /// The case.
    pub case_no: String,
    /// The page (from 1).
    pub page: usize,
    /// Events per page.
    pub per_page: usize,
    /// Events in all.
    pub total: usize,
    /// The events: `seq`, `at`, `actor`, `event`, `task`, `reason` and the event's data.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
}

/// Search and paging parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Case status (running, awaiting_supplement, completed…).
    pub status: Option<String>,
    /// Bundle id.
    pub bundle: Option<String>,
    /// Cases with a task of this department.
    pub department: Option<String>,
    /// Cases whose warning level is this (green, yellow, red).
    pub warning: Option<String>,
    /// Cases taken on this channel (window, portal, app, kiosk…).
    pub channel: Option<String>,
    /// Cases whose 区划代码 starts with this (within the token's own region subtree).
    pub region: Option<String>,
    /// Cases with a unit of this kind: a task id, `<task>.verify` (告知承诺 verification) or
    /// `rectify` (好差评 rectification).
    pub task: Option<String>,
    /// Cases with a unit in this state (`dispatched`, `incident`…; with `task` or
    /// `department`, the same unit).
    pub task_state: Option<String>,
    /// Page, from 1.
    pub page: Option<usize>,
    /// Items per page (default 50, at most 200).
    pub per_page: Option<usize>,
    /// Keyset paging: only cases created before this case number (the `next` of the
    /// previous page). `page` is then ignored.
    pub before: Option<String>,
}

/// A case in a search result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseRow {
    /// The case number.
    pub case_no: String,
    /// Bundle id.
    pub bundle: String,
    /// 区划代码.
    pub region: String,
    /// Status.
    pub status: String,
    /// Warning level.
    pub warning: String,
    /// The bundle's deadline.
    pub deadline: Option<String>,
}

/// `GET /v1/cases`: one page of matching cases, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseList {
    /// The page (from 1).
    pub page: usize,
    /// Items per page.
    pub per_page: usize,
    /// Matching cases in all, counted up to 10,000: with `total_capped`, there are more.
    pub total: usize,
    /// The count stopped at 10,000 matches (narrow the search, or page on with `next`).
    pub total_capped: bool,
    /// The cases.
    pub cases: Vec<CaseRow>,
    /// When the page is full: pass it as `before` for the next page.
    pub next: Option<String>,
}
