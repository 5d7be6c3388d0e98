//! What the window does to a case after submitting it (supplements, withdrawals,
//! evaluations, confirmations), and proposals from data events (triggers).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use yijian_definitions::Blueprint;
use yijian_engine::store::Store;
use yijian_engine::{Action, Actor, CaseNo, Command, Submission};

use super::cases::region_for;
use crate::serve::auth::{Caller, Role};
use crate::serve::body::{CaseBody, EvaluationBody, SupplementBody, TriggerBody, WithdrawBody};
use crate::serve::error::{ApiError, ApiJson, ApiPath, ErrorBody, OptionalJson};
use crate::serve::state::AppState;

/// Runs an applicant's command on a case the window may touch; answers the case after it.
async fn applicant<S: Store + Clone>(
    st: &AppState<S>,
    caller: &Caller,
    case_no: String,
    action: Action,
) -> Result<Json<CaseBody>, ApiError> {
    applicant_with(st, caller, case_no, |_| Ok(action)).await
}

/// [`applicant`] with the action made from the case's blueprint (task names parsed in the
/// version the case runs), once the caller is known to be the case's window.
pub(crate) async fn applicant_with<S: Store + Clone>(
    st: &AppState<S>,
    caller: &Caller,
    case_no: String,
    action: impl FnOnce(&Blueprint) -> Result<Action, ApiError>,
) -> Result<Json<CaseBody>, ApiError> {
    caller.require(&[Role::Window])?;
    let case_no = CaseNo::new(case_no);
    let entry = st.entry(&case_no).await?;
    caller.require_region(&entry.region)?;
    let bp = st
        .engine()
        .blueprint(&entry.bundle, Some(entry.version))
        .ok_or_else(|| ApiError::internal("the case's bundle is not loaded"))?;
    let action = action(&bp)?;
    let engine = st.engine().clone();
    let no = case_no.clone();
    st.run_case(&case_no, async move {
        engine
            .execute(
                &no,
                Command::new(Actor::Applicant, action).on_version(entry.version),
            )
            .await
    })
    .await?;
    let view = st.view(&case_no).await?;
    Ok(Json(CaseBody::from(&view)))
}

/// Answers the open supplement requests (补正); the waiting tasks are dispatched again.
#[utoipa::path(
    post, path = "/v1/cases/{case_no}/supplements", tag = "cases",
    params(("case_no" = String, Path, description = "Case number")),
    request_body = SupplementBody,
    responses(
        (status = 200, body = CaseBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Nothing is waiting for the applicant", body = ErrorBody),
        (status = 422, description = "The supplied data does not fit the bundle", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn supplement<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(case_no): ApiPath<String>,
    ApiJson(body): ApiJson<SupplementBody>,
) -> Result<Json<CaseBody>, ApiError> {
    let via = super::cases::via_of(&caller, body.channel, body.taken_by)?;
    let action = Action::Supply {
        via: Some(via),
        form: body.form,
        materials: body
            .materials
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect(),
    };
    applicant(&st, &caller, case_no, action).await
}

/// Withdraws the whole case, or only the named tasks (their dependants are cancelled, the
/// rest go on); back offices see the cancellation.
#[utoipa::path(
    post, path = "/v1/cases/{case_no}/withdraw", tag = "cases",
    params(("case_no" = String, Path, description = "Case number")),
    request_body = WithdrawBody,
    responses(
        (status = 200, body = CaseBody), (status = 404, description = "Unknown case or task", body = ErrorBody),
        (status = 409, description = "Closed, or a task already decided", body = ErrorBody),
        (status = 422, description = "No reason given", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn withdraw<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(case_no): ApiPath<String>,
    ApiJson(body): ApiJson<WithdrawBody>,
) -> Result<Json<CaseBody>, ApiError> {
    caller.require(&[Role::Window])?;
    let tasks = match body.tasks {
        None => None,
        Some(names) => {
            let no = CaseNo::new(&case_no);
            let mut refs = Vec::with_capacity(names.len());
            for n in &names {
                refs.push(st.engine().task_ref(&no, n).await?);
            }
            Some(refs)
        }
    };
    let action = Action::Withdraw {
        tasks,
        reason: body.reason,
    };
    applicant(&st, &caller, case_no, action).await
}

/// Rates a closed case (好差评); 不满意 or worse opens a rectification task for the
/// department at fault.
#[utoipa::path(
    post, path = "/v1/cases/{case_no}/evaluation", tag = "cases",
    params(("case_no" = String, Path, description = "Case number")),
    request_body = EvaluationBody,
    responses(
        (status = 200, body = CaseBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The case is not closed yet", body = ErrorBody),
        (status = 422, description = "Grade outside 1..5, or an unknown department", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn evaluate<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(case_no): ApiPath<String>,
    ApiJson(body): ApiJson<EvaluationBody>,
) -> Result<Json<CaseBody>, ApiError> {
    let action = Action::Evaluate {
        grade: body.grade,
        department: body.department,
        comment: body.comment,
    };
    applicant(&st, &caller, case_no, action).await
}

/// The person confirms a proposed case (意愿确认): it is accepted and its clock starts.
#[utoipa::path(
    post, path = "/v1/cases/{case_no}/confirm", tag = "cases",
    params(("case_no" = String, Path, description = "Case number")),
    responses(
        (status = 200, body = CaseBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not a proposal waiting for confirmation", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn confirm<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(case_no): ApiPath<String>,
    OptionalJson(_body): OptionalJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<CaseBody>, ApiError> {
    applicant(&st, &caller, case_no, Action::Confirm).await
}

/// A data event proposes a case (免申即享); the same source + event id again answers the
/// same case.
#[utoipa::path(
    post, path = "/v1/triggers", tag = "cases",
    request_body = TriggerBody,
    responses(
        (status = 201, description = "Proposed", body = CaseBody),
        (status = 404, description = "Unknown bundle", body = ErrorBody),
        (status = 422, description = "The bundle takes no proposals, or the form is invalid", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn trigger<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiJson(body): ApiJson<TriggerBody>,
) -> Result<(StatusCode, Json<CaseBody>), ApiError> {
    caller.require(&[Role::Trigger])?;
    if body.source.trim().is_empty() || body.event_id.trim().is_empty() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "`source` and `event_id` must not be empty",
        ));
    }
    let region = region_for(&caller, body.region)?;
    let key = format!("trigger:{}:{}", body.source, body.event_id);
    if let Some(first) = st.remembered(&key) {
        return Ok((StatusCode::CREATED, Json(first)));
    }
    let submission = Submission {
        region,
        form: body.form,
        ..Submission::default()
    };
    let engine = st.engine().clone();
    let (bundle, source, event_id) = (body.bundle, body.source, body.event_id);
    let view = st
        .run(async move {
            engine
                .propose(&bundle, submission, &source, &event_id)
                .await
        })
        .await?;
    st.index().note(&view);
    let answer = CaseBody::from(&view);
    st.remember(key, &answer);
    Ok((StatusCode::CREATED, Json(answer)))
}
