//! Protection middleware: a concurrency limit (503 + `Retry-After` when full), a request
//! time limit, the body limit's value for error messages, and the log of 5xx answers.
//!
//! Long polls (`…/tasks/fetch`, `/engine-rest/external-task/fetchAndLock`) are outside the concurrency limit and the time limit: they
//! have their own cap of waiters and their own `wait`.

use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::{debug, error, warn};
use yijian_engine::store::Store;

use super::error::{ApiError, BodyLimit, InternalDetail};
use super::state::AppState;

/// Whether a path is a long poll.
pub(crate) fn is_long_poll(path: &str) -> bool {
    path.ends_with("/tasks/fetch") || path == "/engine-rest/external-task/fetchAndLock"
}

/// The protection layer of every route.
/// A refusal in the dialect of the path: Camunda's error body under `/engine-rest`.
fn refuse(path: &str, e: ApiError) -> Response {
    if path.starts_with("/engine-rest/") {
        super::camunda::CamundaError::from(e).into_response()
    } else {
        e.into_response()
    }
}

pub(crate) async fn protect<S: Store + Clone>(
    State(state): State<AppState<S>>,
    mut req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    req.extensions_mut()
        .insert(BodyLimit(state.limits().max_body));
    let limited = path.starts_with("/v1/") || path.starts_with("/engine-rest/");
    let response = if is_long_poll(&path) || !limited {
        next.run(req).await
    } else {
        match state.requests().clone().try_acquire_owned() {
            Ok(permit) => {
                let limit = state.limits().request_timeout;
                let r = tokio::time::timeout(limit, next.run(req)).await;
                drop(permit);
                match r {
                    Ok(r) => r,
                    Err(_) => {
                        state.counters().timeouts.fetch_add(1, Ordering::Relaxed);
                        warn!(http.method = %method, http.path = %path, "request timed out");
                        refuse(
                            &path,
                            ApiError::Unavailable {
                                code: "timeout",
                                message: format!(
                                    "the request took longer than {}s; it may still complete — read the state before retrying",
                                    limit.as_secs()
                                ),
                                retry_after: 1,
                            },
                        )
                    }
                }
            }
            Err(_) => {
                state.counters().overloaded.fetch_add(1, Ordering::Relaxed);
                refuse(
                    &path,
                    ApiError::overloaded("too many requests in progress; retry shortly"),
                )
            }
        }
    };
    let status = response.status();
    state.counters().response(status.as_u16());
    if status.is_server_error() {
        let detail = response
            .extensions()
            .get::<InternalDetail>()
            .map(|d| d.0.as_str())
            .unwrap_or("");
        if status.as_u16() == 500 {
            error!(http.method = %method, http.path = %path, http.status = status.as_u16(), detail, "request failed");
        } else {
            warn!(http.method = %method, http.path = %path, http.status = status.as_u16(), "request refused");
        }
    } else {
        debug!(http.method = %method, http.path = %path, http.status = status.as_u16(), "request");
    }
    response
}
