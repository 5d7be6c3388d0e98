//! Fetch-and-lock and the calls a worker makes on a task it locked: complete, bpmnError,
//! failure, extendLock, lock, unlock. Each checks that the worker holds the lock, then
//! makes the native call with the lock's fencing token, so a lock lost in between is
//! refused by the engine as for `/v1`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use yijian_engine::store::Store;
use yijian_engine::{Action, Command, FetchRequest};

use super::unit::{self, Snapshot};
use super::variables::{VariableIn, VariableOut, from_typed};
use super::{CCaller, CJson, CPath, CamundaError, camunda_date, millis};
use crate::serve::body::{CompleteBody, DecisionKind, FetchedTask, MissingBody};
use crate::serve::routes::queues;
use crate::serve::state::AppState;

/// `POST /external-task/fetchAndLock`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FetchAndLockBody {
    worker_id: Option<String>,
    max_tasks: Option<i64>,
    #[serde(default)]
    #[allow(dead_code)] // Every task has priority 0: any order respects it.
    use_priority: Option<bool>,
    async_response_timeout: Option<i64>,
    #[serde(default)]
    topics: Vec<TopicBody>,
    #[serde(default)]
    sorting: Option<Vec<Value>>,
}

/// One topic of a fetch.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicBody {
    topic_name: Option<String>,
    lock_duration: Option<i64>,
    #[serde(default)]
    variables: Option<Vec<String>>,
    #[serde(default)]
    business_key: Option<String>,
    #[serde(default)]
    process_definition_id: Option<String>,
    #[serde(default)]
    process_definition_id_in: Option<Vec<String>>,
    #[serde(default)]
    process_definition_key: Option<String>,
    #[serde(default)]
    process_definition_key_in: Option<Vec<String>>,
    #[serde(default)]
    process_definition_version_tag: Option<String>,
    #[serde(default)]
    tenant_id_in: Option<Vec<String>>,
    #[serde(default)]
    process_variables: Option<Map<String, Value>>,
}

/// A topic, understood: `department` or `department.task`.
#[derive(Debug, Clone)]
struct Topic {
    name: String,
    department: String,
    kind: Option<String>,
    lock: Duration,
    variables: Option<Vec<String>>,
}

impl TopicBody {
    fn parse(self, i: usize) -> Result<Topic, CamundaError> {
        let at = |f: &str| format!("topics[{i}].{f}");
        let name = self
            .topic_name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| CamundaError::invalid(format!("`{}` is required", at("topicName"))))?;
        let lock = millis(
            &at("lockDuration"),
            self.lock_duration.ok_or_else(|| {
                CamundaError::invalid(format!("`{}` is required", at("lockDuration")))
            })?,
        )?;
        let unsupported = [
            ("businessKey", self.business_key.is_some()),
            ("processDefinitionId", self.process_definition_id.is_some()),
            (
                "processDefinitionIdIn",
                self.process_definition_id_in.is_some_and(|v| !v.is_empty()),
            ),
            (
                "processDefinitionKey",
                self.process_definition_key.is_some(),
            ),
            (
                "processDefinitionKeyIn",
                self.process_definition_key_in
                    .is_some_and(|v| !v.is_empty()),
            ),
            (
                "processDefinitionVersionTag",
                self.process_definition_version_tag.is_some(),
            ),
            (
                "tenantIdIn",
                self.tenant_id_in.is_some_and(|v| !v.is_empty()),
            ),
            (
                "processVariables",
                self.process_variables.is_some_and(|v| !v.is_empty()),
            ),
        ];
        if let Some((f, _)) = unsupported.iter().find(|(_, set)| *set) {
            return Err(CamundaError::invalid(format!(
                "`{}` is not supported: a topic is a department (`market`) or one task of it \
                 (`market.licence`); see docs/camunda.md",
                at(f)
            )));
        }
        let name = name.trim().to_owned();
        let (department, kind) = match name.split_once('.') {
            Some((d, k)) if !d.is_empty() && !k.is_empty() => (d.to_owned(), Some(k.to_owned())),
            Some(_) => {
                return Err(CamundaError::invalid(format!(
                    "`{}` is `{name}`; write `department` or `department.task`",
                    at("topicName")
                )));
            }
            None => (name.clone(), None),
        };
        Ok(Topic {
            name,
            department,
            kind,
            lock,
            variables: self.variables,
        })
    }
}

/// `LockedExternalTaskDto`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LockedTask {
    #[serde(flatten)]
    task: unit::ExternalTaskDto,
    error_details: Option<String>,
    variables: BTreeMap<String, VariableOut>,
    extension_properties: BTreeMap<&'static str, String>,
}

/// Locks up to `maxTasks` tasks of the topics' department for the worker, waiting up to
/// `asyncResponseTimeout` ms for the first (long polling).
pub(crate) async fn fetch_and_lock<S: Store + Clone>(
    State(st): State<AppState<S>>,
    CCaller(caller): CCaller,
    CJson(body): CJson<FetchAndLockBody>,
) -> Result<Json<Vec<LockedTask>>, CamundaError> {
    let worker = body
        .worker_id
        .filter(|w| !w.trim().is_empty())
        .ok_or_else(|| CamundaError::invalid("`workerId` is required"))?;
    let max = body
        .max_tasks
        .ok_or_else(|| CamundaError::invalid("`maxTasks` is required"))?;
    if max < 0 {
        return Err(CamundaError::invalid(format!(
            "`maxTasks` is {max}; it must be 0 or more"
        )));
    }
    check_sorting(body.sorting.as_deref())?;
    let topics = body
        .topics
        .into_iter()
        .enumerate()
        .map(|(i, t)| t.parse(i))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = topics.first() else {
        return Ok(Json(Vec::new()));
    };
    if max == 0 {
        return Ok(Json(Vec::new()));
    }
    let department = first.department.clone();
    if let Some(t) = topics.iter().find(|t| t.department != department) {
        return Err(CamundaError::invalid(format!(
            "topics `{}` and `{}` are of two departments; a worker's token is one \
             department's, so fetch each department's topics with its own token",
            first.name, t.name
        )));
    }
    caller.require_department(&department)?;
    let kinds = if topics.iter().any(|t| t.kind.is_none()) {
        Vec::new()
    } else {
        let mut k: Vec<String> = topics.iter().filter_map(|t| t.kind.clone()).collect();
        k.sort();
        k.dedup();
        k
    };
    let longest = topics.iter().map(|t| t.lock).max().unwrap_or_default();
    let wait = body
        .async_response_timeout
        .map_or(Ok(Duration::ZERO), |ms| {
            u64::try_from(ms).map(Duration::from_millis).map_err(|_| {
                CamundaError::invalid(format!(
                    "`asyncResponseTimeout` is {ms}; it must be 0 or more milliseconds"
                ))
            })
        })?
        .min(st.limits().max_wait);
    let req = FetchRequest {
        department,
        region: caller.region.as_deref().map(str::to_owned),
        max: usize::try_from(max).unwrap_or(100).min(100),
        lease: longest,
        wait,
        worker: worker.clone(),
        kinds,
    };
    let leased = queues::lease_work(&st, req).await?;
    let mut out = Vec::with_capacity(leased.len());
    let mut states: HashMap<String, Vec<Snapshot>> = HashMap::new();
    for l in &leased {
        let native = FetchedTask::from(l);
        let kind = l.work.task.kind(&l.work.blueprint);
        // The most specific topic: `market.licence` before `market`.
        let topic = topics
            .iter()
            .find(|t| t.kind.as_deref() == Some(kind.as_str()))
            .or_else(|| topics.iter().find(|t| t.kind.is_none()))
            .unwrap_or(first);
        let mut lock_until = l.lease_expires_at;
        if topic.lock < longest {
            // Leased for the longest topic's duration; this topic asked for less.
            let a = queues::heartbeat_one(&st, &caller, &native.task_id, l.lease_token, topic.lock)
                .await?;
            if let Some(t) = a.lease_expires_at.and_then(|t| t.parse().ok()) {
                lock_until = t;
            }
        }
        let case_no = l.work.case_no.clone();
        if !states.contains_key(case_no.as_str()) {
            let snaps = st
                .engine()
                .inspect(&case_no, |s| Snapshot::all_of(s, None))
                .await
                .map_err(|e| CamundaError::from(crate::serve::error::ApiError::from(e)))?;
            states.insert(case_no.to_string(), snaps);
        }
        let Some(snap) = states
            .get(case_no.as_str())
            .and_then(|v| v.iter().find(|s| s.task == l.work.task))
        else {
            continue; // decided or withdrawn since: not the worker's any more
        };
        let mut dto = snap.dto(jiff::Timestamp::now(), Some(&topic.name));
        dto.worker_id = Some(worker.clone());
        dto.lock_expiration_time = Some(camunda_date(lock_until));
        out.push(LockedTask {
            task: dto,
            error_details: None,
            variables: snap.variables(
                Some(Value::Object(native.materials.clone())),
                topic.variables.as_deref(),
            ),
            extension_properties: snap.properties(),
        });
    }
    Ok(Json(out))
}

/// Sorting by `createTime` ascending is the queue's own order; any other is refused.
fn check_sorting(sorting: Option<&[Value]>) -> Result<(), CamundaError> {
    for s in sorting.unwrap_or_default() {
        let by = s.get("sortBy").and_then(Value::as_str).unwrap_or("");
        let order = s.get("sortOrder").and_then(Value::as_str).unwrap_or("asc");
        if by != "createTime" || order != "asc" {
            return Err(CamundaError::invalid(format!(
                "sorting by `{by}` `{order}` is not supported: tasks are fetched oldest first \
                 (createTime asc)"
            )));
        }
    }
    Ok(())
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
    let worker = worker_of(body.worker_id)?;
    let (loc, snap) = unit::find(&st, &caller, &id).await?;
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
    let (loc, snap) = unit::find(&st, &caller, &id).await?;
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
    let (loc, snap) = unit::find(&st, &caller, &id).await?;
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
    let worker = worker_of(body.worker_id)?;
    let lock = millis(
        "newDuration",
        body.new_duration
            .ok_or_else(|| CamundaError::invalid("`newDuration` is required"))?,
    )?;
    let (loc, snap) = unit::find(&st, &caller, &id).await?;
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
    let worker = worker_of(body.worker_id)?;
    let lock = millis(
        "lockDuration",
        body.lock_duration
            .ok_or_else(|| CamundaError::invalid("`lockDuration` is required"))?,
    )?;
    let (loc, snap) = unit::find(&st, &caller, &id).await?;
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
    );
    let engine = st.engine().clone();
    let no = loc.case_no.clone();
    st.run(async move { engine.execute(&no, cmd).await })
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
    let (loc, snap) = unit::find(&st, &caller, &id).await?;
    caller.require_department(&loc.department)?;
    let now = st.engine().clock().now();
    if let Some(l) = snap.holder(now) {
        // A lease that ends now: the unit is free for the next fetch.
        queues::heartbeat_one(&st, &caller, &loc.task_id(), l.token, Duration::ZERO).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
