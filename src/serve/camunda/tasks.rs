//! The calls a worker makes on a task it locked: complete, bpmnError, failure,
//! extendLock, lock, unlock. Each checks that the worker holds the lock, then makes the
//! native call with the lock's fencing token, so a lock lost in between is refused by the
//! engine as for `/v1`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};
use yijian_engine::store::Store;
use yijian_engine::{Action, Command};

use super::unit;
use super::variables::{VariableIn, from_typed};
use super::{CCaller, CJson, CPath, CamundaError, millis};
use crate::serve::body::{CompleteBody, DecisionKind, MissingBody};
use crate::serve::routes::queues;
use crate::serve::state::AppState;

/// The unit an id names, for its department's token only (a command on it): found and
/// authorised before the request's values are looked at, so another caller learns nothing
/// from a validation error.
async fn held<S: Store + Clone>(
    st: &AppState<S>,
    caller: &crate::serve::auth::Caller,
    id: &str,
) -> Result<(crate::serve::state::Located, unit::Snapshot), CamundaError> {
    let found = unit::find(st, caller, id).await?;
    caller.require_department(&found.0.department)?;
    Ok(found)
}

/// The worker named in a body.
fn worker_of(worker: Option<String>) -> Result<String, CamundaError> {
    worker
        .filter(|w| !w.trim().is_empty())
        .ok_or_else(|| CamundaError::invalid("`workerId` is required"))
}

/// `POST /external-task/{id}/complete`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompleteExt {
    worker_id: Option<String>,
    #[serde(default)]
    variables: Option<BTreeMap<String, VariableIn>>,
    #[serde(default)]
    local_variables: Option<BTreeMap<String, VariableIn>>,
}

/// Approves the task with its variables as the output (local variables win on a name
/// both carry); the output is validated against the task's declaration.
pub(crate) async fn complete<S: Store + Clone>(
    State(st): State<AppState<S>>,
    CCaller(caller): CCaller,
    CPath(id): CPath<String>,
    CJson(body): CJson<CompleteExt>,
) -> Result<StatusCode, CamundaError> {
    let (loc, snap) = held(&st, &caller, &id).await?;
    let worker = worker_of(body.worker_id)?;
    let token = snap.token_of(&worker, st.engine().clock().now())?;
    let declared = st
        .engine()
        .blueprint(&loc.entry.bundle, Some(loc.entry.version))
        .and_then(|bp| {
            (snap.task.part != yijian_engine::ids::Part::Rectification)
                .then(|| {
                    bp.tasks
                        .get(snap.task.task.index())
                        .map(|t| t.output.clone())
                })
                .flatten()
        })
        .unwrap_or_default();
    let mut output = Map::new();
    for (name, v) in body
        .variables
        .unwrap_or_default()
        .into_iter()
        .chain(body.local_variables.unwrap_or_default())
    {
        let value = from_typed(&name, &v, declared.get(&name))?;
        output.insert(name, value);
    }
    let native = CompleteBody {
        lease_token: Some(token),
        decision: DecisionKind::Approved,
        output: Some(Value::Object(output)),
        reason: None,
        missing: None,
    };
    queues::complete_one(&st, &caller, &loc.task_id(), native).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /external-task/{id}/bpmnError`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BpmnErrorBody {
    worker_id: Option<String>,
    error_code: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    variables: Option<BTreeMap<String, VariableIn>>,
}

/// A business outcome other than approval: `REFUSED` (不予许可, `errorMessage` the
/// written reason) or `SUPPLEMENT` (补正, a `missing` variable listing what is missing).
pub(crate) async fn bpmn_error<S: Store + Clone>(
    State(st): State<AppState<S>>,
    CCaller(caller): CCaller,
    CPath(id): CPath<String>,
    CJson(body): CJson<BpmnErrorBody>,
) -> Result<StatusCode, CamundaError> {
    let (loc, snap) = held(&st, &caller, &id).await?;
    let worker = worker_of(body.worker_id)?;
    let code = body.error_code.unwrap_or_default();
    let (decision, reason, missing) = match code.as_str() {
        "REFUSED" => {
            let reason = body
                .error_message
                .filter(|m| !m.trim().is_empty())
                .ok_or_else(|| {
                    CamundaError::invalid(
                        "a refusal (不予许可) needs its written reason in `errorMessage`",
                    )
                })?;
            (DecisionKind::Rejected, Some(reason), None)
        }
        "SUPPLEMENT" => {
            let vars = body.variables.unwrap_or_default();
            let v = vars.get("missing").ok_or_else(|| {
                CamundaError::invalid(
                    "a supplement (补正) needs a `missing` variable: a Json list of \
                     {material or field, reason}",
                )
            })?;
            let list = from_typed("missing", v, None)?;
            let missing: Vec<MissingBody> = serde_json::from_value(list).map_err(|e| {
                CamundaError::invalid(format!(
                    "variable `missing`: {e}; each item is {{\"material\": id, \"reason\": \
                     text}} or {{\"field\": name, \"reason\": text}}"
                ))
            })?;
            (DecisionKind::Supplement, None, Some(missing))
        }
        other => {
            return Err(CamundaError::invalid(format!(
                "`errorCode` is `{other}`; yijian takes `REFUSED` (不予许可, reason in \
                 errorMessage) or `SUPPLEMENT` (补正, a `missing` variable); a technical \
                 problem is a failure (POST …/failure)"
            )));
        }
    };
    let token = snap.token_of(&worker, st.engine().clock().now())?;
    let native = CompleteBody {
        lease_token: Some(token),
        decision,
        output: None,
        reason,
        missing,
    };
    queues::complete_one(&st, &caller, &loc.task_id(), native).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /external-task/{id}/failure`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FailureBody {
    worker_id: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    error_details: Option<String>,
    #[serde(default)]
    retries: Option<i64>,
    #[serde(default)]
    retry_timeout: Option<i64>,
}

/// A technical failure: retried after `retryTimeout` ms while `retries` is above 0; at 0
/// an incident for an operator, as in Camunda. Without `retries` the task's own retry
/// policy decides.
pub(crate) async fn failure<S: Store + Clone>(
    State(st): State<AppState<S>>,
    CCaller(caller): CCaller,
    CPath(id): CPath<String>,
    CJson(body): CJson<FailureBody>,
) -> Result<StatusCode, CamundaError> {
    let (loc, snap) = held(&st, &caller, &id).await?;
    let worker = worker_of(body.worker_id)?;
    let retries = body
        .retries
        .map(|r| {
            u32::try_from(r).map_err(|_| {
                CamundaError::invalid(format!("`retries` is {r}; it must be 0 or more"))
            })
        })
        .transpose()?;
    let retry_in = match body.retry_timeout {
        Some(0) | None => None,
        Some(ms) => Some(millis("retryTimeout", ms)?),
    };
    let token = snap.token_of(&worker, st.engine().clock().now())?;
    let message = body
        .error_message
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| "failure reported by a Camunda worker".to_owned());
    let error = match body.error_details.filter(|d| !d.trim().is_empty()) {
        Some(d) => format!("{message}\n{d}"),
        None => message,
    };
    let native = queues::Failure {
        lease_token: Some(token),
        error,
        retry_in,
        retries,
    };
    queues::fail_one(&st, &caller, &loc.task_id(), native).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /external-task/{id}/extendLock`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExtendLockBody {
    worker_id: Option<String>,
    new_duration: Option<i64>,
}

/// Extends the worker's lock to `newDuration` ms from now.
pub(crate) async fn extend_lock<S: Store + Clone>(
    State(st): State<AppState<S>>,
    CCaller(caller): CCaller,
    CPath(id): CPath<String>,
    CJson(body): CJson<ExtendLockBody>,
) -> Result<StatusCode, CamundaError> {
    let (loc, snap) = held(&st, &caller, &id).await?;
    let worker = worker_of(body.worker_id)?;
    let lock = millis(
        "newDuration",
        body.new_duration
            .ok_or_else(|| CamundaError::invalid("`newDuration` is required"))?,
    )?;
    let token = snap.token_of(&worker, st.engine().clock().now())?;
    queues::heartbeat_one(&st, &caller, &loc.task_id(), token, lock).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /external-task/{id}/lock`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LockBody {
    worker_id: Option<String>,
    lock_duration: Option<i64>,
}

/// Locks one task for the worker (a task found by a query rather than fetched); the
/// worker's own live lock gets the new duration.
pub(crate) async fn lock<S: Store + Clone>(
    State(st): State<AppState<S>>,
    CCaller(caller): CCaller,
    CPath(id): CPath<String>,
    CJson(body): CJson<LockBody>,
) -> Result<StatusCode, CamundaError> {
    let (loc, snap) = held(&st, &caller, &id).await?;
    let worker = worker_of(body.worker_id)?;
    let lock = millis(
        "lockDuration",
        body.lock_duration
            .ok_or_else(|| CamundaError::invalid("`lockDuration` is required"))?,
    )?;
    let now = st.engine().clock().now();
    if let Some(l) = snap.holder(now) {
        if l.worker != worker {
            return Err(CamundaError::invalid(format!(
                "External task {id} is already locked by worker {}",
                l.worker
            )));
        }
        queues::heartbeat_one(&st, &caller, &loc.task_id(), l.token, lock).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let until = now
        .checked_add(jiff::SignedDuration::try_from(lock).unwrap_or(jiff::SignedDuration::MAX))
        .unwrap_or(jiff::Timestamp::MAX);
    let cmd = Command::new(
        caller.actor(),
        Action::Lease {
            task: loc.task,
            worker,
            until,
        },
    )
    .on_version(loc.entry.version);
    let engine = st.engine().clone();
    let no = loc.case_no.clone();
    st.run_case(&loc.case_no, async move { engine.execute(&no, cmd).await })
        .await
        .map_err(|e| match e.code() {
            "leased" | "wrong_step" | "task_not_open" => CamundaError::invalid(e.detail().message),
            _ => CamundaError::from(e),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Clears the task's lock: it is fetchable again at once.
pub(crate) async fn unlock<S: Store + Clone>(
    State(st): State<AppState<S>>,
    CCaller(caller): CCaller,
    CPath(id): CPath<String>,
) -> Result<StatusCode, CamundaError> {
    let (loc, snap) = held(&st, &caller, &id).await?;
    let now = st.engine().clock().now();
    if let Some(l) = snap.holder(now) {
        // A lease that ends now: the unit is free for the next fetch.
        queues::heartbeat_one(&st, &caller, &loc.task_id(), l.token, Duration::ZERO).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
