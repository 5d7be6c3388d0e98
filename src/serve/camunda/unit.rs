//! An external task as Camunda shows it: a unit of a case that is open at its department
//! (dispatched, waiting for a retry, in an incident, or in a special step), read from the
//! engine's state of the case.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use yijian_engine::TaskRef;
use yijian_engine::case::{CaseState, Lease, UnitStatus};
use yijian_engine::ids::Part;
use yijian_engine::store::Store;

use super::variables::{self, VariableOut};
use super::{CamundaError, camunda_date, external_id};
use crate::serve::auth::{Principal, Role};
use crate::serve::error::ApiError;
use crate::serve::state::{AppState, Located};

/// One unit as it stands.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) case_no: String,
    pub(crate) task: TaskRef,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) title: String,
    pub(crate) department: String,
    pub(crate) region: String,
    pub(crate) bundle: String,
    pub(crate) version: u32,
    pub(crate) status: UnitStatus,
    pub(crate) attempts: u32,
    pub(crate) retries: Option<u32>,
    pub(crate) reason: Option<String>,
    pub(crate) lease: Option<Lease>,
    pub(crate) dispatched_at: Option<jiff::Timestamp>,
    pub(crate) retry_at: Option<jiff::Timestamp>,
    pub(crate) due: Option<jiff::Timestamp>,
    pub(crate) input: Option<Value>,
}

/// The states in which a unit is an external task; in every other one (decided, waiting
/// for its dependencies, for a supplement…) Camunda would have no such task: 404.
const OPEN: [UnitStatus; 4] = [
    UnitStatus::Dispatched,
    UnitStatus::RetryWait,
    UnitStatus::Incident,
    UnitStatus::Suspended,
];

impl Snapshot {
    /// The unit `task` of a case, if it is an external task now.
    pub(crate) fn of(state: &CaseState, task: TaskRef) -> Option<Snapshot> {
        let u = state.unit(task)?;
        if !OPEN.contains(&u.status) {
            return None;
        }
        let bp = &state.blueprint;
        let title = match task.part {
            Part::Rectification => "好差评整改".to_owned(),
            _ => bp.tasks.get(task.task.index())?.title.clone(),
        };
        Some(Snapshot {
            case_no: state.case_no.to_string(),
            task,
            name: task.name(bp),
            kind: task.kind(bp),
            title,
            department: state.department(task)?.to_string(),
            region: state.region.to_string(),
            bundle: bp.id.to_string(),
            version: bp.version,
            status: u.status,
            attempts: u.attempts,
            retries: u.retries,
            reason: u.reason.clone(),
            lease: u.lease.as_deref().cloned(),
            dispatched_at: u.dispatched_at,
            retry_at: u.retry_at,
            due: u.due,
            input: u.input.as_deref().cloned(),
        })
    }

    /// Every unit of the case that is an external task of `department` (all departments
    /// when `None`).
    pub(crate) fn all_of(state: &CaseState, department: Option<&str>) -> Vec<Snapshot> {
        state
            .units()
            .filter_map(|(r, _)| Snapshot::of(state, r))
            .filter(|s| department.is_none_or(|d| s.department == d))
            .collect()
    }

    pub(crate) fn id(&self) -> String {
        external_id(&format!("{}:{}", self.case_no, self.name))
    }

    /// The lock's holder, while the lock is live at `now`.
    pub(crate) fn holder(&self, now: jiff::Timestamp) -> Option<&Lease> {
        self.lease
            .as_ref()
            .filter(|l| l.expires_at.is_some() && l.is_live(now))
    }

    /// The fencing token of the lock `worker` holds on it.
    ///
    /// # Errors
    /// `BadUserRequestException` (400) when it is not locked, locked by another worker, or
    /// the worker's lock expired.
    pub(crate) fn token_of(&self, worker: &str, now: jiff::Timestamp) -> Result<u64, CamundaError> {
        let id = self.id();
        match &self.lease {
            Some(l) if l.expires_at.is_none() => Err(CamundaError::not_holder(format!(
                "External task {id} was accepted (受理) by worker {} through /v1 and is \
                 answered there",
                l.worker
            ))),
            Some(l) if l.worker != worker => Err(CamundaError::not_holder(format!(
                "External task {id} is locked by worker {}, not by {worker}",
                l.worker
            ))),
            Some(l) if !l.is_live(now) => Err(CamundaError::not_holder(format!(
                "The lock of worker {worker} on external task {id} expired at {}; fetch and \
                 lock it again",
                l.expires_at.map(camunda_date).unwrap_or_default()
            ))),
            Some(l) => Ok(l.token),
            None => Err(CamundaError::not_holder(format!(
                "External task {id} is not locked by worker {worker}; fetch and lock it first"
            ))),
        }
    }

    /// Camunda's `ExternalTaskDto` (without variables).
    pub(crate) fn dto(&self, now: jiff::Timestamp, topic: Option<&str>) -> ExternalTaskDto {
        let holder = self.holder(now);
        // A failed task waits out its retry locked in Camunda; here it is not fetchable
        // until then either.
        let lock_until = match self.status {
            UnitStatus::RetryWait => self.retry_at,
            _ => holder.and_then(|l| l.expires_at),
        };
        let retries = match self.status {
            UnitStatus::Incident => Some(0),
            _ => self.retries,
        };
        ExternalTaskDto {
            id: self.id(),
            topic_name: topic.map_or_else(|| self.department.clone(), str::to_owned),
            worker_id: holder.map(|l| l.worker.clone()),
            lock_expiration_time: lock_until.map(camunda_date),
            process_instance_id: self.case_no.clone(),
            business_key: self.case_no.clone(),
            process_definition_id: format!("{}:{}", self.bundle, self.version),
            process_definition_key: self.bundle.clone(),
            process_definition_version_tag: None,
            activity_id: self.kind.clone(),
            activity_instance_id: self.name.clone(),
            execution_id: format!("{}:{}", self.case_no, self.name),
            retries,
            error_message: self.reason.clone(),
            suspended: self.status == UnitStatus::Suspended,
            priority: 0,
            tenant_id: None,
            create_time: self.dispatched_at.map(camunda_date),
        }
    }

    /// The task's input as typed variables (only `names` when given), with `_materials`
    /// (Json) and `_deadline` (Date).
    pub(crate) fn variables(
        &self,
        materials: Option<Value>,
        names: Option<&[String]>,
    ) -> BTreeMap<String, VariableOut> {
        let mut out = BTreeMap::new();
        if let Some(Value::Object(m)) = &self.input {
            for (k, v) in m {
                out.insert(k.clone(), variables::typed(v));
            }
        }
        out.insert(
            "_materials".to_owned(),
            variables::typed(&materials.unwrap_or(Value::Object(serde_json::Map::new()))),
        );
        out.insert("_deadline".to_owned(), variables::date(self.due));
        if let Some(names) = names {
            out.retain(|k, _| names.iter().any(|n| n == k));
        }
        out
    }

    /// What Camunda clients read as `extensionProperties`: yijian's own facts of the task.
    pub(crate) fn properties(&self) -> BTreeMap<&'static str, String> {
        let mut p = BTreeMap::from([
            ("department", self.department.clone()),
            ("region", self.region.clone()),
            ("task", self.name.clone()),
            ("title", self.title.clone()),
            ("attempt", self.attempts.to_string()),
            ("status", self.status.as_str().to_owned()),
        ]);
        if let Some(d) = self.due {
            p.insert("deadline", d.to_string());
        }
        p
    }
}

/// `ExternalTaskDto`, as `GET /external-task` answers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExternalTaskDto {
    pub(crate) id: String,
    pub(crate) topic_name: String,
    pub(crate) worker_id: Option<String>,
    pub(crate) lock_expiration_time: Option<String>,
    pub(crate) process_instance_id: String,
    pub(crate) business_key: String,
    pub(crate) process_definition_id: String,
    pub(crate) process_definition_key: String,
    pub(crate) process_definition_version_tag: Option<String>,
    pub(crate) activity_id: String,
    pub(crate) activity_instance_id: String,
    pub(crate) execution_id: String,
    pub(crate) retries: Option<u32>,
    pub(crate) error_message: Option<String>,
    pub(crate) suspended: bool,
    pub(crate) priority: i64,
    pub(crate) tenant_id: Option<String>,
    pub(crate) create_time: Option<String>,
}

/// The unit an external task id names, as it stands, for a caller who may read it: its
/// department's token, or an admin's or supervisor's, within the token's region.
///
/// # Errors
/// 404 when there is no such open unit (or the case does not exist); 403 for another
/// department's token or a region outside the token's scope.
pub(crate) async fn find<S: Store + Clone>(
    st: &AppState<S>,
    caller: &Principal,
    id: &str,
) -> Result<(Located, Snapshot), CamundaError> {
    let tid = super::parse_external_id(id)?;
    let gone = |e: ApiError| {
        if e.status() == axum::http::StatusCode::NOT_FOUND {
            CamundaError::no_task(id)
        } else {
            CamundaError::from(e)
        }
    };
    let loc = st.resolve(&tid).await.map_err(gone)?;
    match &caller.role {
        Role::Department(_) => caller.require_department(&loc.department)?,
        _ => caller.require(&[Role::Admin, Role::Supervisor])?,
    }
    caller.require_region(&loc.entry.region)?;
    let task = loc.task;
    let snap = st
        .engine()
        .inspect(&loc.case_no, |s| Snapshot::of(s, task))
        .await
        .map_err(|e| gone(e.into()))?
        .ok_or_else(|| CamundaError::no_task(id))?;
    Ok((loc, snap))
}
