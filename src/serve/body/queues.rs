//! Back-office bodies: fetch, lease calls, decisions; incidents.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use yijian_engine::LeasedWork;
use yijian_engine::case::SpecialStep;

use super::time;
use crate::serve::task_id::TaskId;

/// `POST /v1/departments/{id}/tasks/fetch`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchBody {
    /// At most this many tasks, 1..=100 (default 1).
    #[serde(default)]
    pub max: Option<usize>,
    /// How long each lease lasts, e.g. `5m` (default: the binding's, else 5m).
    #[serde(default)]
    pub lease: Option<String>,
    /// Wait up to this long for the first task, e.g. `30s` (default 0: answer at once).
    #[serde(default)]
    pub wait: Option<String>,
    /// The worker's name (default: the token's name).
    #[serde(default)]
    pub worker: Option<String>,
    /// Only tasks of these kinds: task ids of the bundle (`licence`; `partner_check` for
    /// all its instances), `<task>.verify` for 告知承诺 verification, `rectify` for
    /// 好差评 rectification (default: every task of the department).
    #[serde(default)]
    pub tasks: Option<Vec<String>>,
}

/// A task leased to a worker.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FetchedTask {
    /// `<case_no>:<task>`: the id of the task endpoints.
    pub task_id: String,
    /// The case.
    pub case_no: String,
    /// 区划代码 of the case.
    pub region: String,
    /// Bundle id.
    pub bundle: String,
    /// Bundle version.
    pub version: u32,
    /// The task: `licence`, `partner_check[1]`, `fire_check.verify`, `rectify[0]`.
    pub task: String,
    /// Title.
    pub title: String,
    /// `main`, `verification` (告知承诺核查) or `rectification` (好差评整改).
    pub part: String,
    /// 事项编码.
    pub item: Option<String>,
    /// Dispatch attempt, from 1.
    pub attempt: u32,
    /// The task's input, as its bundle maps the form.
    #[schema(value_type = Object)]
    pub input: Value,
    /// Materials: id → `{name, sha256, uri}` (null where not uploaded: shared or deferred).
    #[schema(value_type = Object)]
    pub materials: Map<String, Value>,
    /// When the task's promised limit ends.
    pub deadline: Option<String>,
    /// The fencing token every later call names.
    pub lease_token: u64,
    /// When the lease expires unless extended.
    pub lease_expires_at: String,
    /// Present when a downstream department returned this task's result to be redone
    /// (退回): by which task, why, and the output approved before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_back: Option<super::SentBackBody>,
}

impl From<&LeasedWork> for FetchedTask {
    fn from(l: &LeasedWork) -> FetchedTask {
        let w = &l.work;
        let name = w.name();
        FetchedTask {
            task_id: TaskId::format(w.case_no.as_str(), &name),
            case_no: w.case_no.to_string(),
            region: w.region.to_string(),
            bundle: w.bundle().to_owned(),
            version: w.version(),
            task: name,
            title: w.title(),
            part: serde_json::to_value(w.part())
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            item: w.item().map(str::to_owned),
            attempt: w.attempt,
            input: (*w.input).clone(),
            materials: w
                .materials
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
                .collect(),
            deadline: time(l.deadline),
            lease_token: l.lease_token,
            lease_expires_at: l.lease_expires_at.to_string(),
            sent_back: w.sent_back.as_ref().map(|b| super::SentBackBody {
                by: b.by.name(&w.blueprint),
                reason: b.reason.clone(),
                previous_output: b.previous_output.as_deref().cloned(),
                at: b.at.to_string(),
            }),
        }
    }
}

/// The answer to a fetch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FetchResponse {
    /// The tasks leased, possibly none (the wait ended).
    pub tasks: Vec<FetchedTask>,
}

/// `POST /v1/tasks/{task_id}/heartbeat`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatBody {
    /// The lease's token.
    pub lease_token: u64,
    /// Extend by this long from now (default 5m).
    #[serde(default)]
    pub lease: Option<String>,
}

/// `POST /v1/tasks/{task_id}/accept` (受理).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// The lease's token. Left out (or 0) by a back office answering a task pushed to it
    /// by its webhook, which was never leased; refused (409) while a lease is live.
    #[serde(default)]
    pub lease_token: Option<u64>,
    /// The department's own receipt number.
    #[serde(default)]
    pub receipt_no: Option<String>,
}

/// The decision of a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// 准予, with `output`.
    Approved,
    /// 不予许可, with `reason`.
    Rejected,
    /// 补正, with `missing`.
    Supplement,
}

impl DecisionKind {
    /// The unit status this decision produces.
    pub fn status(self) -> &'static str {
        match self {
            DecisionKind::Approved => "approved",
            DecisionKind::Rejected => "rejected",
            DecisionKind::Supplement => "supplement_requested",
        }
    }
}

/// One missing item of a supplement request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MissingBody {
    /// A material id.
    #[serde(default)]
    pub material: Option<String>,
    /// A form field.
    #[serde(default)]
    pub field: Option<String>,
    /// What is wrong with it, for the applicant.
    pub reason: String,
}

/// `POST /v1/tasks/{task_id}/complete`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// The lease's token. Left out (or 0) by a back office answering a task pushed to it
    /// by its webhook, which was never leased; refused (409) while a lease is live.
    #[serde(default)]
    pub lease_token: Option<u64>,
    /// approved, rejected or supplement.
    pub decision: DecisionKind,
    /// With approved: the output, as the task declares it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    /// With rejected: the written reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// With supplement: what is missing.
    #[serde(default)]
    pub missing: Option<Vec<MissingBody>>,
}

/// `POST /v1/departments/{id}/tasks/complete`: decisions on many tasks at once.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBatchBody {
    /// 1..=100 completions, each as `POST /v1/tasks/{task_id}/complete` takes it, with its
    /// `task_id`.
    pub completions: Vec<BatchCompletion>,
}

/// One completion of a batch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchCompletion {
    /// The task id (`<case_no>:<task>`, not encoded).
    pub task_id: String,
    /// The lease's token (left out for a task pushed by a webhook).
    #[serde(default)]
    pub lease_token: Option<u64>,
    /// approved, rejected or supplement.
    pub decision: DecisionKind,
    /// With approved: the output, as the task declares it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    /// With rejected: the written reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// With supplement: what is missing.
    #[serde(default)]
    pub missing: Option<Vec<MissingBody>>,
}

impl BatchCompletion {
    /// The task id and the single completion's body.
    pub fn split(self) -> (String, CompleteBody) {
        (
            self.task_id,
            CompleteBody {
                lease_token: self.lease_token,
                decision: self.decision,
                output: self.output,
                reason: self.reason,
                missing: self.missing,
            },
        )
    }
}

/// The answer to a batch of completions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompleteBatchResponse {
    /// One per completion, in the order sent.
    pub results: Vec<BatchResult>,
}

/// What became of one completion of a batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchResult {
    /// The task id as sent.
    pub task_id: String,
    /// The status the completion would have had alone (200, 404, 409, 422…).
    pub status: u16,
    /// On 200: the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<TaskAnswer>,
    /// Otherwise: the error, as the single endpoint gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::serve::error::ErrorDetail>,
}

impl BatchResult {
    /// The result of one completion.
    pub fn of(task_id: String, r: Result<TaskAnswer, crate::serve::error::ApiError>) -> Self {
        match r {
            Ok(a) => BatchResult {
                task_id,
                status: 200,
                answer: Some(a),
                error: None,
            },
            Err(e) => BatchResult {
                task_id,
                status: e.status().as_u16(),
                answer: None,
                error: Some(e.detail()),
            },
        }
    }
}

/// `POST /v1/tasks/{task_id}/fail`: a technical failure.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailBody {
    /// The lease's token. Left out (or 0) by a back office answering a task pushed to it
    /// by its webhook, which was never leased; refused (409) while a lease is live.
    #[serde(default)]
    pub lease_token: Option<u64>,
    /// What went wrong.
    pub error: String,
    /// Retry after this long (e.g. `10m`) instead of the task's backoff.
    #[serde(default)]
    pub retry_in: Option<String>,
    /// Retries left as the worker counts them, replacing the task's retry policy for
    /// this failure: 0 raises an incident at once (default: the task's policy decides).
    #[serde(default)]
    pub retries: Option<u32>,
}

/// A special step (特殊环节), excluded from the time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
pub enum StepBody {
    /// 公示.
    #[serde(rename = "公示")]
    PublicNotice,
    /// 听证.
    #[serde(rename = "听证")]
    Hearing,
    /// 专家评审.
    #[serde(rename = "专家评审")]
    ExpertReview,
    /// 检验检测.
    #[serde(rename = "检验检测")]
    Inspection,
    /// 现场踏勘.
    #[serde(rename = "现场踏勘")]
    SiteSurvey,
    /// Another step, named in the note.
    #[serde(rename = "other")]
    Other,
}

impl From<StepBody> for SpecialStep {
    fn from(s: StepBody) -> SpecialStep {
        match s {
            StepBody::PublicNotice => SpecialStep::PublicNotice,
            StepBody::Hearing => SpecialStep::Hearing,
            StepBody::ExpertReview => SpecialStep::ExpertReview,
            StepBody::Inspection => SpecialStep::Inspection,
            StepBody::SiteSurvey => SpecialStep::SiteSurvey,
            StepBody::Other => SpecialStep::Other,
        }
    }
}

/// `POST /v1/tasks/{task_id}/suspend`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendBody {
    /// The lease's token. Left out (or 0) by a back office answering a task pushed to it
    /// by its webhook, which was never leased; refused (409) while a lease is live.
    #[serde(default)]
    pub lease_token: Option<u64>,
    /// 公示, 听证, 专家评审, 检验检测, 现场踏勘 or other.
    pub reason: StepBody,
    /// What it is about.
    #[serde(default)]
    pub note: String,
    /// When the department expects to resume (RFC 3339).
    #[serde(default)]
    pub expected: Option<String>,
}

/// `POST /v1/tasks/{task_id}/resume`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeBody {
    /// The lease's token. Left out (or 0) by a back office answering a task pushed to it
    /// by its webhook, which was never leased; refused (409) while a lease is live.
    #[serde(default)]
    pub lease_token: Option<u64>,
}

/// The answer to a task call.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TaskAnswer {
    /// The task id.
    pub task_id: String,
    /// The case.
    pub case_no: String,
    /// The task.
    pub task: String,
    /// The task's status after the call.
    pub status: String,
    /// The lease's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_token: Option<u64>,
    /// When the lease expires (heartbeat).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<String>,
    /// When a retry is due (fail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<String>,
    /// The task's new deadline (resume).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
}

/// A unit stuck after its technical attempts were spent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentBody {
    /// The incident's id: the task id.
    pub id: String,
    /// The case.
    pub case_no: String,
    /// 区划代码.
    pub region: String,
    /// Bundle id.
    pub bundle: String,
    /// The task.
    pub task: String,
    /// Department id.
    pub department: String,
    /// Dispatches so far.
    pub attempts: u32,
    /// The last error.
    pub reason: Option<String>,
}

/// `GET /v1/incidents`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentList {
    /// Every incident in open cases.
    pub incidents: Vec<IncidentBody>,
}

/// `POST /v1/incidents/{id}/cancel` (the body is optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentAction {
    /// Why (default: "cancelled by an operator").
    #[serde(default)]
    pub reason: Option<String>,
}
