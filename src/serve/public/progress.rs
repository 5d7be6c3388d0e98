//! 办件进度查询: an applicant, without an account, finds where their case is from the
//! receipt alone — the case number and the query code printed on it.
//!
//! The answer never says whether a case number exists: an unknown number and a wrong code
//! get the same 404, after the same work. Wrong codes are counted per client address and
//! per case ([`super::limiter`]). Personal data is masked ([`super::mask`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yijian_definitions::Blueprint;
use yijian_engine::case::UnitStatus;
use yijian_engine::event::EventKind;
use yijian_engine::store::Store;
use yijian_engine::view::CaseView;
use yijian_engine::{CaseNo, EngineError};

use super::limiter::Verdict;
use super::{code, mask};
use crate::serve::error::{ApiError, ApiJson, ErrorBody};
use crate::serve::state::AppState;

/// `POST /v1/progress`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProgressBody {
    /// The case number on the receipt.
    pub(crate) case_no: String,
    /// The query code on the receipt (case, spaces and dashes do not matter).
    pub(crate) code: String,
}

/// Where a case is, in plain words, personal data masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ProgressAnswer {
    /// The case number.
    pub(crate) case_no: String,
    /// The bundle's title (开办餐饮店一件事).
    pub(crate) title: String,
    /// The applicant, masked (王*), where the form names one.
    pub(crate) applicant: Option<String>,
    /// 受理时间 (China Standard Time).
    pub(crate) accepted_at: Option<String>,
    /// The stage in words: 办理中, 待补正, 已办结…
    pub(crate) stage: String,
    /// The same, as a code: running, awaiting_supplement, or the outcome.
    pub(crate) status: String,
    /// The promised completion date (承诺办结日期).
    pub(crate) due: Option<String>,
    /// Each item and its department's state in words.
    pub(crate) items: Vec<ProgressItem>,
    /// The open 一次性告知 notice: what to hand in, and by when.
    pub(crate) notice: Option<ProgressNotice>,
    /// The results to collect once closed (证照名称).
    pub(crate) results: Vec<String>,
    /// The channels the case came in on, in order (综合窗口, 网上办事大厅…).
    pub(crate) channels: Vec<String>,
}

/// One item of the case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ProgressItem {
    /// 事项.
    pub(crate) item: String,
    /// 部门.
    pub(crate) department: String,
    /// Its state in words.
    pub(crate) state: String,
    /// Its promised date, while open.
    pub(crate) due: Option<String>,
}

/// The supplement notice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ProgressNotice {
    /// Hand it in by this date.
    pub(crate) respond_by: Option<String>,
    /// What is missing and why.
    pub(crate) items: Vec<ProgressMissing>,
}

/// One missing material or field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ProgressMissing {
    /// The material's or field's title.
    pub(crate) what: String,
    /// Why, masked.
    pub(crate) reason: String,
}

/// The client's address, when the server knows it (real sockets do; in-process routers
/// called without one count as one client).
#[derive(Debug, Clone)]
pub(crate) struct Client(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(super::limiter::client_of(parts)))
    }
}

/// A seal nobody's code opens, for looking up unknown case numbers with the same work.
const NO_SEAL: &str = "sha256:00000000000000000000000000000000:\
                       0000000000000000000000000000000000000000000000000000000000000000";

/// The case's progress, by its number and query code.
#[utoipa::path(
    post, path = "/v1/progress", tag = "progress",
    request_body = ProgressBody,
    responses(
        (status = 200, body = ProgressAnswer),
        (status = 400, body = ErrorBody),
        (status = 404, description = "No case matches this number and code (the two are not told apart)", body = ErrorBody),
        (status = 429, description = "Too many wrong codes (see Retry-After)", body = ErrorBody),
    )
)]
pub(crate) async fn lookup<S: Store + Clone>(
    State(st): State<AppState<S>>,
    client: Client,
    ApiJson(body): ApiJson<ProgressBody>,
) -> Result<Json<ProgressAnswer>, ApiError> {
    let case_no = body.case_no.trim().to_owned();
    if case_no.is_empty() || case_no.len() > 64 || body.code.len() > 64 {
        return Err(ApiError::bad_request(
            "invalid_body",
            "send the case number and the query code printed on the receipt",
        ));
    }
    match st.progress_limiter().check(&client.0, &case_no) {
        Verdict::Refuse(left) => {
            return Err(ApiError::TooMany {
                message: "too many wrong codes; try again later".to_owned(),
                retry_after: u32::try_from(left.as_secs().max(1)).unwrap_or(u32::MAX),
            });
        }
        Verdict::Go(wait) => tokio::time::sleep(wait).await,
    }
    let no = CaseNo::new(&case_no);
    let found = st
        .engine()
        .inspect(&no, |s| {
            (
                s.progress_code.clone(),
                s.form.clone(),
                s.blueprint.clone(),
                CaseView::of(s),
            )
        })
        .await;
    let (sealed, form, bp, view) = match found {
        Ok((sealed, form, bp, view)) => (sealed, Some(form), Some(bp), Some(view)),
        Err(EngineError::UnknownCase { .. }) => (None, None, None, None),
        Err(e) => return Err(e.into()),
    };
    let opened = code::opens(sealed.as_deref().unwrap_or(NO_SEAL), &body.code);
    let (true, Some(form), Some(bp), Some(view)) = (opened, form, bp, view) else {
        st.progress_limiter().failed(&client.0, &case_no);
        return Err(ApiError::not_found(
            "no_match",
            "no case matches this number and code; check both on the receipt",
        ));
    };
    let channels = channels(&st, &no).await?;
    Ok(Json(answer(&view, &form, &bp, channels)))
}

/// The channels of the submission and of each supplement, in order, without repeats in a
/// row.
async fn channels<S: Store + Clone>(
    st: &AppState<S>,
    no: &CaseNo,
) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for e in st.engine().events(no).await? {
        let via = match &e.kind {
            EventKind::CaseSubmitted { submission, .. } => submission.via.clone(),
            EventKind::Supplied { via, .. } => via.clone(),
            _ => None,
        };
        if let Some(v) = via {
            let label = yijian_definitions::guide::channel_label(&v.channel);
            if out.last() != Some(&label) {
                out.push(label);
            }
        }
    }
    Ok(out)
}

/// China Standard Time (UTC+8, no daylight saving).
fn cst() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::fixed(jiff::tz::offset(8))
}

/// A time as a date in China Standard Time.
fn date(t: Option<jiff::Timestamp>) -> Option<String> {
    t.map(|t| cst().to_datetime(t).date().to_string())
}

fn stage(status: &str) -> &'static str {
    match status {
        "proposed" => "待确认(免申即享)",
        "running" => "办理中",
        "awaiting_supplement" => "待补正",
        "completed" => "已办结",
        "partially_completed" => "部分办结",
        "refused" => "不予许可",
        "terminated" => "已终止",
        "withdrawn" => "已撤回",
        "abandoned" => "逾期未补正,已终止",
        _ => "办理中",
    }
}

fn state_words(s: UnitStatus) -> &'static str {
    match s {
        UnitStatus::Waiting => "等待前序事项",
        // Technical retries and incidents are the administration's business, not the
        // applicant's: the item is being handled.
        UnitStatus::Dispatched | UnitStatus::RetryWait | UnitStatus::Incident => "审批中",
        UnitStatus::SupplementRequested => "待补正",
        UnitStatus::Suspended => "特殊环节(不计时)",
        UnitStatus::Approved => "已办结(准予)",
        UnitStatus::Rejected => "不予许可",
        UnitStatus::Skipped => "无需办理",
        UnitStatus::Cancelled => "已取消",
        UnitStatus::Withdrawn => "已撤回",
        UnitStatus::Terminated => "已终止",
        UnitStatus::Revoked => "已撤销",
        _ => "办理中",
    }
}

/// The form fields whose value names the applicant, tried in order.
const APPLICANT_FIELDS: [&str; 5] = [
    "applicant_name",
    "operator_name",
    "legal_person",
    "company_name",
    "name",
];

fn answer(
    view: &CaseView,
    form: &serde_json::Map<String, serde_json::Value>,
    bp: &Arc<Blueprint>,
    channels: Vec<String>,
) -> ProgressAnswer {
    let department = |id: &str| {
        bp.guide
            .departments
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    };
    let items = view
        .tasks
        .iter()
        .map(|t| ProgressItem {
            item: t.title.clone(),
            department: department(&t.department),
            state: state_words(t.status).to_owned(),
            due: (!t.status.is_final()).then(|| date(t.due)).flatten(),
        })
        .collect();
    let notice = (!view.supplement_notice.is_empty()).then(|| ProgressNotice {
        respond_by: date(view.respond_by),
        items: view
            .supplement_notice
            .iter()
            .map(|n| {
                let what = match (&n.missing.material, &n.missing.field) {
                    (Some(m), _) => bp
                        .materials
                        .get(m)
                        .and_then(|s| s.title.clone())
                        .unwrap_or_else(|| m.clone()),
                    (None, Some(f)) => bp
                        .form
                        .get(f)
                        .and_then(|r| r.field.title.clone())
                        .unwrap_or_else(|| f.clone()),
                    (None, None) => n.task.clone(),
                };
                ProgressMissing {
                    what,
                    reason: mask::text(&n.missing.reason, form),
                }
            })
            .collect(),
    });
    ProgressAnswer {
        case_no: view.case_no.to_string(),
        title: bp.title.clone(),
        applicant: APPLICANT_FIELDS
            .iter()
            .find_map(|f| form.get(*f).and_then(|v| v.as_str()))
            .map(mask::name),
        accepted_at: view
            .accepted_at
            .map(|t| cst().to_datetime(t).strftime("%Y-%m-%d %H:%M").to_string()),
        stage: stage(&view.status).to_owned(),
        status: view.status.clone(),
        due: date(view.due),
        items,
        notice,
        results: view.documents.keys().cloned().collect(),
        channels,
    }
}
