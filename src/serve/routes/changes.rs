//! Changing a running case (docs/procedures.md): 退回 by a department, 加办 and its
//! reverse at the window, 改派 by an operator. Each is one engine command; the engine
//! decides whether it fits and refuses with a coded error, changing nothing.

use axum::Json;
use axum::extract::State;
use yijian_engine::store::Store;
use yijian_engine::{Action, Command, TaskRef};

use super::queues::{answer, command_at};
use crate::serve::auth::{Caller, Role};
use crate::serve::body::{
    AddItemBody, CaseBody, ReassignBody, RemoveItemBody, SendBackBody, TaskAnswer,
};
use crate::serve::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use crate::serve::state::AppState;
use crate::serve::task_id::TaskId;

/// 退回: the department of the task in the path (dispatched, under its lease) returns the
/// result of an upstream task; that task goes back to its department with the reason and
/// its previous output, and the open tasks after it wait again.
#[utoipa::path(
    post, path = "/v1/tasks/{task_id}/send-back", tag = "queues",
    params(("task_id" = String, Path, description = "The caller's own task, `<case_no>:<task>`, percent-encoded")),
    request_body = SendBackBody,
    responses(
        (status = 200, description = "The returned task, dispatched again", body = TaskAnswer),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not approved, forbidden by the bundle, past `send_back.max`, a dependant busy, or a stale lease", body = ErrorBody),
        (status = 422, description = "No reason, or not upstream of the caller's task", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn send_back<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(task_id): ApiPath<String>,
    ApiJson(body): ApiJson<SendBackBody>,
) -> Result<Json<TaskAnswer>, ApiError> {
    let id = TaskId::parse(&task_id)?;
    // Authorised on the caller's own task before anything of the case is told.
    let loc = st.locate(&caller, &id).await?;
    let bp = st
        .engine()
        .blueprint(&loc.entry.bundle, Some(loc.entry.version))
        .ok_or_else(|| ApiError::internal("the case's bundle is not loaded"))?;
    let upstream = TaskRef::parse(&bp, body.upstream.trim()).ok_or_else(|| {
        ApiError::not_found(
            "unknown_task",
            format!("no task `{}` in case {}", body.upstream, id.case_no),
        )
    })?;
    let action = Action::SendBack {
        task: upstream,
        by: loc.task,
        reason: body.reason,
    };
    command_at(&st, &caller, &loc, body.lease_token, action).await?;
    let mut a = answer(&loc, "dispatched");
    a.task_id = TaskId::format(loc.case_no.as_str(), &upstream.name(&bp));
    a.task = upstream.name(&bp);
    Ok(Json(a))
}

fn task_of(bp: &yijian_definitions::Blueprint, name: &str) -> Result<TaskRef, ApiError> {
    TaskRef::parse(bp, name.trim()).ok_or_else(|| {
        ApiError::not_found("unknown_task", format!("no task `{name}` in this bundle"))
    })
}

/// 加办: adds an optional item (a task left out because its `when` was false) to the
/// running case, with the form change that makes it apply and its materials.
#[utoipa::path(
    post, path = "/v1/cases/{case_no}/items", tag = "cases",
    params(("case_no" = String, Path, description = "Case number")),
    request_body = AddItemBody,
    responses(
        (status = 200, body = CaseBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Closed, already part of the case, or a task after it already started", body = ErrorBody),
        (status = 422, description = "Its `when` stays false, or its materials are missing", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn add_item<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(case_no): ApiPath<String>,
    ApiJson(body): ApiJson<AddItemBody>,
) -> Result<Json<CaseBody>, ApiError> {
    let via = super::cases::via_of(&caller, body.channel, body.taken_by)?;
    super::actions::applicant_with(&st, &caller, case_no, |bp| {
        Ok(Action::AddItem {
            task: task_of(bp, &body.task)?,
            form: body.form,
            materials: body
                .materials
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect(),
            via: Some(via),
        })
    })
    .await
}

/// The reverse of 加办: an optional item not yet dispatched is left out (skipped).
#[utoipa::path(
    post, path = "/v1/cases/{case_no}/items/{task}/remove", tag = "cases",
    params(
        ("case_no" = String, Path, description = "Case number"),
        ("task" = String, Path, description = "The optional task"),
    ),
    request_body = RemoveItemBody,
    responses(
        (status = 200, body = CaseBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not optional, already dispatched, or a task after it already started", body = ErrorBody),
        (status = 422, description = "No reason", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn remove_item<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath((case_no, task)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RemoveItemBody>,
) -> Result<Json<CaseBody>, ApiError> {
    super::actions::applicant_with(&st, &caller, case_no, |bp| {
        Ok(Action::RemoveItem {
            task: task_of(bp, &task)?,
            reason: body.reason,
        })
    })
    .await
}

/// 改派: an operator or a supervisor moves a task to the department of the same kind in another region
/// (属地 misrouting). Its clock runs on; any lease ends and the new region's queue serves
/// it; the old region's department can no longer act on it.
#[utoipa::path(
    post, path = "/v1/tasks/{task_id}/reassign", tag = "operations",
    params(("task_id" = String, Path, description = "`<case_no>:<task>`, percent-encoded")),
    request_body = ReassignBody,
    responses(
        (status = 200, body = TaskAnswer), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The task is settled", body = ErrorBody),
        (status = 422, description = "No reason, or the region it is already in", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn reassign<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(task_id): ApiPath<String>,
    ApiJson(body): ApiJson<ReassignBody>,
) -> Result<Json<TaskAnswer>, ApiError> {
    caller.require(&[Role::Admin, Role::Supervisor])?;
    let region = body.region.trim().to_owned();
    if !(2..=12).contains(&region.len()) || !region.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("`region` is `{region}`; it must be a 区划代码 of 2 to 12 digits"),
        ));
    }
    // Both ends within the operator's scope.
    caller.require_region(&region)?;
    let loc = st.resolve(&TaskId::parse(&task_id)?).await?;
    caller.require_region(&loc.entry.region)?;
    let action = Action::Reassign {
        task: loc.task,
        region,
        reason: body.reason,
    };
    let cmd = Command::new(caller.actor(), action).on_version(loc.entry.version);
    let engine = st.engine().clone();
    let no = loc.case_no.clone();
    st.run_case(&loc.case_no, async move { engine.execute(&no, cmd).await })
        .await?;
    let view = st.view(&loc.case_no).await?;
    let status = view
        .task(&loc.name)
        .map_or_else(|| "waiting".to_owned(), |t| t.status.as_str().to_owned());
    Ok(Json(answer(&loc, &status)))
}
