//! `POST /engine-rest/external-task/fetchAndLock`: topics (a department, or one task of
//! it: `department.task`), long polling, each locked task answered with its typed
//! variables, through the native fetch (the same claims, leases and wake-ups).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use yijian_engine::FetchRequest;
use yijian_engine::store::Store;

use super::unit::{self, Snapshot};
use super::variables::VariableOut;
use super::{CCaller, CJson, CamundaError, camunda_date, millis};
use crate::serve::body::FetchedTask;
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
    // Only departments lock work: any other token is refused before the body is looked at.
    if !matches!(caller.role, crate::serve::auth::Role::Department(_)) {
        return Err(CamundaError::from(
            crate::serve::error::ApiError::forbidden(
                "forbidden",
                format!(
                    "a `{}` token may not fetch and lock; use a department's token",
                    caller.role
                ),
            ),
        ));
    }
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
    let department = first.department.clone();
    if let Some(t) = topics.iter().find(|t| t.department != department) {
        return Err(CamundaError::invalid(format!(
            "topics `{}` and `{}` are of two departments; a worker's token is one \
             department's, so fetch each department's topics with its own token",
            first.name, t.name
        )));
    }
    caller.require_department(&department)?;
    if max == 0 {
        return Ok(Json(Vec::new()));
    }
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
                .map_err(CamundaError::from)?;
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
