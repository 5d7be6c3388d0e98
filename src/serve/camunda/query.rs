//! Reads: `GET /external-task` (with `/count` and `/{id}`), `GET /engine`, `GET /version`.
//!
//! The list is read from the store's search of cases with a unit of the department in an
//! open state, then each case's units; it looks at the newest [`SCAN`] such cases per
//! state, which covers a department's working set (a queue deeper than that is a matter
//! for `/v1/cases` and the metrics, not a worker's query).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use yijian_engine::CaseNo;
use yijian_engine::case::UnitStatus;
use yijian_engine::store::{CaseQuery, Store};

use super::unit::{self, ExternalTaskDto, Snapshot};
use super::{CAMUNDA_VERSION, CCaller, CPath, CQuery, CamundaError};
use crate::serve::auth::{Principal, Role};
use crate::serve::state::AppState;

/// The most cases a list reads per state.
const SCAN: usize = 1_000;

/// `[{"name": "default"}]`: the one engine.
pub(crate) async fn engines() -> Json<Vec<EngineName>> {
    Json(vec![EngineName {
        name: "default".to_owned(),
    }])
}

/// An engine's name.
#[derive(Debug, Serialize)]
pub(crate) struct EngineName {
    name: String,
}

/// The Camunda REST version this dialect follows.
pub(crate) async fn version() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "version": CAMUNDA_VERSION }))
}

/// The filters of `GET /external-task` that yijian answers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    external_task_id: Option<String>,
    topic_name: Option<String>,
    worker_id: Option<String>,
    locked: Option<bool>,
    not_locked: Option<bool>,
    with_retries_left: Option<bool>,
    no_retries_left: Option<bool>,
    process_instance_id: Option<String>,
    business_key: Option<String>,
    activity_id: Option<String>,
    process_definition_key: Option<String>,
    suspended: Option<bool>,
    active: Option<bool>,
    first_result: Option<usize>,
    max_results: Option<usize>,
}

/// The external tasks the caller may see, filtered; at most `maxResults` from
/// `firstResult`, ordered by id.
pub(crate) async fn list<S: Store + Clone>(
    State(st): State<AppState<S>>,
    CCaller(caller): CCaller,
    CQuery(q): CQuery<ListQuery>,
) -> Result<Json<Vec<ExternalTaskDto>>, CamundaError> {
    let found = matching(&st, &caller, &q).await?;
    let first = q.first_result.unwrap_or(0);
    let max = q.max_results.unwrap_or(usize::MAX);
    Ok(Json(found.into_iter().skip(first).take(max).collect()))
}

/// `{"count": n}` of the same filters.
pub(crate) async fn count<S: Store + Clone>(
    State(st): State<AppState<S>>,
    CCaller(caller): CCaller,
    CQuery(q): CQuery<ListQuery>,
) -> Result<Json<serde_json::Value>, CamundaError> {
    let found = matching(&st, &caller, &q).await?;
    Ok(Json(serde_json::json!({ "count": found.len() })))
}

/// One external task.
pub(crate) async fn one<S: Store + Clone>(
    State(st): State<AppState<S>>,
    CCaller(caller): CCaller,
    CPath(id): CPath<String>,
) -> Result<Json<ExternalTaskDto>, CamundaError> {
    let (_, snap) = unit::find(&st, &caller, &id).await?;
    Ok(Json(snap.dto(st.engine().clock().now(), None)))
}

/// The department whose tasks the caller may list: its own for a department's token;
/// any (or the `topicName`'s) for an admin or supervisor.
fn department_of(caller: &Principal, q: &ListQuery) -> Result<Option<String>, CamundaError> {
    let topic_dep = q
        .topic_name
        .as_deref()
        .map(|t| t.split_once('.').map_or(t, |(d, _)| d).to_owned());
    match &caller.role {
        Role::Department(d) => {
            if let Some(t) = &topic_dep {
                caller.require_department(t)?;
            }
            Ok(Some(d.to_string()))
        }
        _ => {
            caller.require(&[Role::Admin, Role::Supervisor])?;
            Ok(topic_dep)
        }
    }
}

async fn matching<S: Store + Clone>(
    st: &AppState<S>,
    caller: &Principal,
    q: &ListQuery,
) -> Result<Vec<ExternalTaskDto>, CamundaError> {
    let department = department_of(caller, q)?;
    let now = st.engine().clock().now();
    let mut cases: BTreeSet<String> = BTreeSet::new();
    let named = q
        .process_instance_id
        .as_ref()
        .or(q.business_key.as_ref())
        .cloned()
        .or_else(|| {
            q.external_task_id
                .as_deref()
                .and_then(|id| super::parse_external_id(id).ok())
                .map(|t| t.case_no.to_string())
        });
    match named {
        Some(c) => {
            cases.insert(c);
        }
        None => {
            for state in [
                UnitStatus::Dispatched,
                UnitStatus::RetryWait,
                UnitStatus::Incident,
                UnitStatus::Suspended,
            ] {
                let query = CaseQuery {
                    region: caller.region.as_deref().map(str::to_owned),
                    department: department.clone(),
                    task_state: Some(state),
                    limit: SCAN,
                    ..CaseQuery::default()
                };
                let page = st
                    .engine()
                    .store()
                    .search(&query)
                    .await
                    .map_err(CamundaError::from)?;
                cases.extend(page.cases.into_iter().map(|c| c.case_no.to_string()));
            }
        }
    }
    let mut out = Vec::new();
    for c in cases {
        let dep = department.clone();
        let snaps = match st
            .engine()
            .inspect(&CaseNo::new(&c), move |s| {
                let region = s.region.to_string();
                (region, Snapshot::all_of(s, dep.as_deref()))
            })
            .await
        {
            Ok((region, snaps)) if caller.sees_region(&region) => snaps,
            Ok(_) | Err(yijian_engine::EngineError::UnknownCase { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        for s in snaps {
            if keep(&s, q, now) {
                out.push(s.dto(now, None));
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Whether a unit passes the list's filters.
fn keep(s: &Snapshot, q: &ListQuery, now: jiff::Timestamp) -> bool {
    let holder = s.holder(now);
    let retries_left = s.status != UnitStatus::Incident;
    let active = s.status != UnitStatus::Suspended;
    let kind = q
        .topic_name
        .as_deref()
        .and_then(|t| t.split_once('.'))
        .map(|(_, k)| k);
    q.external_task_id.as_deref().is_none_or(|id| s.id() == id)
        && kind.is_none_or(|k| s.kind == k)
        && q.worker_id
            .as_deref()
            .is_none_or(|w| holder.is_some_and(|l| l.worker == w))
        && (q.locked != Some(true) || holder.is_some())
        && (q.not_locked != Some(true) || holder.is_none())
        && (q.with_retries_left != Some(true) || retries_left)
        && (q.no_retries_left != Some(true) || !retries_left)
        && q.activity_id.as_deref().is_none_or(|a| s.kind == a)
        && q.process_definition_key
            .as_deref()
            .is_none_or(|k| s.bundle == k)
        && (q.suspended != Some(true) || !active)
        && (q.active != Some(true) || active)
}
