//! Operations: health, readiness, metrics, the OpenAPI document, incidents.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use yijian_engine::store::{CaseQuery, Store};
use yijian_engine::{Action, Command, UnitStatus};

use crate::serve::auth::{Caller, Role};
use crate::serve::body::{HealthBody, IncidentAction, IncidentBody, IncidentList, TaskAnswer};
use crate::serve::error::{ApiError, ApiPath, ErrorBody, OptionalJson};
use crate::serve::state::AppState;
use crate::serve::task_id::TaskId;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = HealthBody)))]
pub(crate) async fn healthz() -> Json<HealthBody> {
    Json(HealthBody {
        status: "ok".to_owned(),
    })
}

/// How long `/readyz` stays 503 after the store refused a write.
pub(crate) const WRITE_HOLD: Duration = Duration::from_secs(5);

/// The store is reachable and takes writes: 503 while it cannot be read, and for
/// [`WRITE_HOLD`] after it refused a commit (full disk, read-only file), so a load balancer
/// sends the traffic elsewhere; the next commit it takes clears it.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses((status = 200, body = HealthBody), (status = 503, description = "The store is unreachable, or refused a write in the last 5 s", body = ErrorBody))
)]
pub(crate) async fn readyz<S: Store + Clone>(
    State(st): State<AppState<S>>,
) -> Result<Json<HealthBody>, ApiError> {
    let unavailable = || ApiError::Unavailable {
        code: "store_unavailable",
        message: "the store is not reachable".to_owned(),
        retry_after: 1,
    };
    if let Some(ago) = st.engine().write_failing_for()
        && ago < WRITE_HOLD
    {
        return Err(ApiError::Unavailable {
            code: "store_write_failing",
            message: format!(
                "the store refused a write {} ms ago (full disk, read-only file?); nothing was \
                 acknowledged since",
                ago.as_millis()
            ),
            retry_after: 5,
        });
    }
    match tokio::time::timeout(Duration::from_secs(2), st.engine().store().case_count()).await {
        Ok(Ok(_)) => Ok(Json(HealthBody {
            status: "ready".to_owned(),
        })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(unavailable())
        }
        Err(_) => Err(unavailable()),
    }
}

/// Prometheus metrics (text format).
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
pub(crate) async fn metrics<S: Store + Clone>(State(st): State<AppState<S>>) -> Response {
    let text = crate::serve::metrics::render(&st).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// This document.
pub(crate) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::serve::openapi::json(),
    )
        .into_response()
}

/// Units stuck after their technical attempts were spent, across open cases: the cases are
/// found in the store's task rows (state `incident`), then read.
#[utoipa::path(
    get, path = "/v1/incidents", tag = "operations",
    responses((status = 200, body = IncidentList), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn incidents<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<IncidentList>, ApiError> {
    caller.require(&[Role::Admin, Role::Supervisor])?;
    const MOST: usize = 1000;
    let found = st
        .engine()
        .store()
        .search(&CaseQuery {
            region: caller.region.as_deref().map(str::to_owned),
            task_state: Some(UnitStatus::Incident),
            limit: MOST,
            ..CaseQuery::default()
        })
        .await
        .map_err(|e| ApiError::from(yijian_engine::EngineError::from(e)))?;
    let mut out = Vec::new();
    for summary in found.cases {
        let no = summary.case_no;
        let Ok(view) = st.engine().case(&no).await else {
            continue;
        };
        st.index().note(&view);
        for t in view
            .tasks
            .iter()
            .filter(|t| t.status == UnitStatus::Incident)
        {
            out.push(IncidentBody {
                id: TaskId::format(no.as_str(), &t.name),
                case_no: no.to_string(),
                region: view.region.clone(),
                bundle: view.bundle.clone(),
                task: t.name.clone(),
                department: t.department.clone(),
                attempts: t.attempts,
                reason: t.reason.clone(),
            });
        }
    }
    Ok(Json(IncidentList { incidents: out }))
}

async fn operate<S: Store + Clone>(
    st: &AppState<S>,
    caller: &Caller,
    id: &str,
    retry: bool,
    reason: Option<String>,
) -> Result<Json<TaskAnswer>, ApiError> {
    caller.require(&[Role::Admin])?;
    let loc = st.resolve(&TaskId::parse(id)?).await?;
    caller.require_region(&loc.entry.region)?;
    let action = if retry {
        Action::Dispatch { task: loc.task }
    } else {
        Action::Cancel {
            task: loc.task,
            reason: reason.unwrap_or_else(|| "cancelled by an operator".to_owned()),
        }
    };
    let command = Command::new(caller.actor(), action).on_version(loc.entry.version);
    let engine = st.engine().clone();
    let no = loc.case_no.clone();
    st.run_case(
        &loc.case_no,
        async move { engine.execute(&no, command).await },
    )
    .await?;
    tracing::info!(case.no = %loc.case_no, task = %loc.name, retry, operator = %caller.name, "incident handled");
    Ok(Json(TaskAnswer {
        task_id: loc.task_id(),
        case_no: loc.case_no.to_string(),
        task: loc.name.clone(),
        status: if retry { "dispatched" } else { "cancelled" }.to_owned(),
        lease_token: None,
        lease_expires_at: None,
        retry_at: None,
        deadline: None,
    }))
}

/// Hands an incident's task to its department again.
#[utoipa::path(
    post, path = "/v1/incidents/{id}/retry", tag = "operations",
    params(("id" = String, Path, description = "The incident's task id, percent-encoded")),
    responses((status = 200, body = TaskAnswer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn retry<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TaskAnswer>, ApiError> {
    operate(&st, &caller, &id, true, None).await
}

/// Cancels an incident's task (its dependants are cancelled too).
#[utoipa::path(
    post, path = "/v1/incidents/{id}/cancel", tag = "operations",
    params(("id" = String, Path, description = "The incident's task id, percent-encoded")),
    request_body(content = IncidentAction, description = "Optional"),
    responses((status = 200, body = TaskAnswer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn cancel<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<IncidentAction>,
) -> Result<Json<TaskAnswer>, ApiError> {
    operate(&st, &caller, &id, false, body.reason).await
}
