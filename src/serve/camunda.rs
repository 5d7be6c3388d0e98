//! The Camunda 7 external-task dialect under `/engine-rest`: existing Camunda workers
//! (Java, JavaScript, Python clients) fetch, lock, complete, fail and raise errors on
//! yijian's tasks by changing only their base URL.
//!
//! A thin mapping onto the same calls as the native `/v1` queue routes — the same leases,
//! fencing tokens, authorisation and audit; no engine rule is written here. What it adds is
//! Camunda's vocabulary: topics (a department, or `department.task`), typed variables, lock
//! ownership by `workerId`, error bodies `{type, message}`. The mapping table is in
//! docs/camunda.md.

mod fetch;
mod query;
mod tasks;
mod unit;
mod variables;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use yijian_engine::store::Store;

use super::auth::Caller;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use super::state::AppState;
use super::task_id::TaskId;

/// The Camunda version this dialect follows (`GET /engine-rest/version`).
pub(crate) const CAMUNDA_VERSION: &str = "7.22.0";

/// The routes, to be nested under `/engine-rest`.
pub(crate) fn router<S: Store + Clone>() -> Router<AppState<S>> {
    Router::new()
        .route("/engine", get(query::engines))
        .route("/version", get(query::version))
        .route("/external-task", get(query::list::<S>))
        .route("/external-task/count", get(query::count::<S>))
        .route(
            "/external-task/fetchAndLock",
            post(fetch::fetch_and_lock::<S>),
        )
        .route("/external-task/{id}", get(query::one::<S>))
        .route("/external-task/{id}/complete", post(tasks::complete::<S>))
        .route(
            "/external-task/{id}/bpmnError",
            post(tasks::bpmn_error::<S>),
        )
        .route("/external-task/{id}/failure", post(tasks::failure::<S>))
        .route(
            "/external-task/{id}/extendLock",
            post(tasks::extend_lock::<S>),
        )
        .route("/external-task/{id}/lock", post(tasks::lock::<S>))
        .route("/external-task/{id}/unlock", post(tasks::unlock::<S>))
        .fallback(|| async {
            CamundaError::new(
                StatusCode::NOT_FOUND,
                "RestException",
                "yijian serves only the external-task resources of the Camunda REST API \
                 (and /engine, /version); see docs/camunda.md",
            )
        })
        .method_not_allowed_fallback(|| async {
            CamundaError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "RestException",
                "this resource does not take that method; see docs/camunda.md",
            )
        })
}

/// Camunda's error body: `{type, message}`, with its status.
#[derive(Debug, Clone)]
pub(crate) struct CamundaError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    retry_after: Option<u32>,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

impl CamundaError {
    pub(crate) fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        CamundaError {
            status,
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 `InvalidRequestException`: the request itself is wrong.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        CamundaError::new(StatusCode::BAD_REQUEST, "InvalidRequestException", message)
    }

    /// 400 `BadUserRequestException`: the task is not locked by this worker.
    pub(crate) fn not_holder(message: impl Into<String>) -> Self {
        CamundaError::new(StatusCode::BAD_REQUEST, "BadUserRequestException", message)
    }

    /// 404: no such external task (never existed, or no longer open).
    pub(crate) fn no_task(id: &str) -> Self {
        CamundaError::new(
            StatusCode::NOT_FOUND,
            "NotFoundException",
            format!("External task with id {id} does not exist (or is no longer open)"),
        )
    }
}

impl From<ApiError> for CamundaError {
    fn from(e: ApiError) -> Self {
        let message = e.detail().message;
        let (status, kind) = match e.status() {
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                (StatusCode::BAD_REQUEST, "InvalidRequestException")
            }
            StatusCode::UNAUTHORIZED => (StatusCode::UNAUTHORIZED, "AuthenticationException"),
            StatusCode::FORBIDDEN => (StatusCode::FORBIDDEN, "AuthorizationException"),
            StatusCode::NOT_FOUND => (StatusCode::NOT_FOUND, "NotFoundException"),
            // A lease lost between our check and the command (expired, taken by another
            // worker), or a task no longer in a state to take this: Camunda's answer to a
            // worker that does not hold the lock.
            StatusCode::CONFLICT => (StatusCode::BAD_REQUEST, "BadUserRequestException"),
            StatusCode::INTERNAL_SERVER_ERROR => {
                (StatusCode::INTERNAL_SERVER_ERROR, "ProcessEngineException")
            }
            other => (other, "RestException"),
        };
        let retry_after = match &e {
            ApiError::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        CamundaError {
            status,
            kind,
            message,
            retry_after,
        }
    }
}

impl From<yijian_engine::EngineError> for CamundaError {
    fn from(e: yijian_engine::EngineError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<yijian_engine::store::StoreError> for CamundaError {
    fn from(e: yijian_engine::store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for CamundaError {
    fn into_response(self) -> Response {
        let body = ErrorJson {
            kind: self.kind,
            message: &self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"yijian\", Bearer"),
            );
        }
        response
    }
}

/// The caller, or Camunda's 401/403 body.
#[derive(Debug, Clone)]
pub(crate) struct CCaller(pub(crate) Caller);

impl<S: Store + Clone> FromRequestParts<AppState<S>> for CCaller {
    type Rejection = CamundaError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        Caller::from_request_parts(parts, state)
            .await
            .map(CCaller)
            .map_err(CamundaError::from)
    }
}

/// A JSON body, or Camunda's 400 body naming what is wrong.
#[derive(Debug, Clone)]
pub(crate) struct CJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for CJson<T> {
    type Rejection = CamundaError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        ApiJson::<T>::from_request(req, state)
            .await
            .map(|j| CJson(j.0))
            .map_err(CamundaError::from)
    }
}

/// A path parameter, or Camunda's 400 body.
#[derive(Debug, Clone)]
pub(crate) struct CPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for CPath<T> {
    type Rejection = CamundaError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        ApiPath::<T>::from_request_parts(parts, state)
            .await
            .map(|p| CPath(p.0))
            .map_err(CamundaError::from)
    }
}

/// Query parameters, or Camunda's 400 body.
#[derive(Debug, Clone)]
pub(crate) struct CQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for CQuery<T> {
    type Rejection = CamundaError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        ApiQuery::<T>::from_request_parts(parts, state)
            .await
            .map(|q| CQuery(q.0))
            .map_err(CamundaError::from)
    }
}

/// An external task's id: the native task id with an instance's `[n]` written `~n`, so
/// that it needs no escaping in a URL path (Camunda clients put ids in paths as they are):
/// `320106-20261207-00000042:partner_check~1`. Ids in native form are accepted too.
pub(crate) fn external_id(task_id: &str) -> String {
    match task_id.strip_suffix(']').and_then(|t| t.rsplit_once('[')) {
        Some((head, n)) => format!("{head}~{n}"),
        None => task_id.to_owned(),
    }
}

/// The native task an external task id names.
pub(crate) fn parse_external_id(id: &str) -> Result<TaskId, CamundaError> {
    let native = match id.rsplit_once('~') {
        Some((head, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{head}[{n}]")
        }
        _ => id.to_owned(),
    };
    TaskId::parse(&native).map_err(|_| CamundaError::no_task(id))
}

/// Camunda's date format (`yyyy-MM-dd'T'HH:mm:ss.SSSZ`), in UTC: `2026-12-07T05:30:00.000+0000`.
pub(crate) fn camunda_date(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// A duration in milliseconds from a Camunda body, which must be more than zero.
pub(crate) fn millis(field: &str, ms: i64) -> Result<std::time::Duration, CamundaError> {
    match u64::try_from(ms) {
        Ok(ms) if ms > 0 => Ok(std::time::Duration::from_millis(ms)),
        _ => Err(CamundaError::invalid(format!(
            "`{field}` is {ms}; it must be a positive number of milliseconds"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_need_no_escaping_and_round_trip() {
        for (native, ext) in [
            (
                "320106-20261207-00000042:licence",
                "320106-20261207-00000042:licence",
            ),
            (
                "320106-20261207-00000042:partner_check[1]",
                "320106-20261207-00000042:partner_check~1",
            ),
            ("3201-x:fire_check.verify", "3201-x:fire_check.verify"),
            ("3201-x:rectify[0]", "3201-x:rectify~0"),
        ] {
            assert_eq!(external_id(native), ext);
            let back = parse_external_id(ext).expect("parses");
            assert_eq!(back.to_string(), native);
            assert_eq!(
                parse_external_id(native).expect("native").to_string(),
                native
            );
        }
        assert!(parse_external_id("nonsense").is_err());
    }

    #[test]
    fn dates_are_in_camundas_format() {
        let t: jiff::Timestamp = "2026-12-07T05:30:00.5Z".parse().expect("time");
        assert_eq!(camunda_date(t), "2026-12-07T05:30:00.500+0000");
    }
}
