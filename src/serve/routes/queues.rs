//! Back-office queues: fetch-and-lock with long polling, and the calls a worker makes under
//! its lease (heartbeat, accept, complete, fail, suspend, resume).

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use yijian_engine::case::{CaseState, Missing};
use yijian_engine::event::EventKind;
use yijian_engine::store::Store;
use yijian_engine::{Action, Command, Event, FetchRequest, LeasedWork, TaskRef};

use crate::serve::auth::Caller;
use crate::serve::body::{
    AcceptBody, BatchCompletion, BatchResult, CompleteBatchBody, CompleteBatchResponse,
    CompleteBody, DecisionKind, FailBody, FetchBody, FetchResponse, FetchedTask, HeartbeatBody,
    ResumeBody, SuspendBody, TaskAnswer, time,
};
use crate::serve::config::parse_duration;
use crate::serve::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use crate::serve::state::{AppState, Located};
use crate::serve::task_id::TaskId;

fn duration(field: &str, text: &str) -> Result<Duration, ApiError> {
    let d = parse_duration(text)
        .map_err(|m| ApiError::bad_request("invalid_body", format!("`{field}`: {m}")))?;
    if d.is_zero() {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("`{field}` must be more than zero"),
        ));
    }
    Ok(d)
}

/// Leases up to `max` ready tasks of the department to the worker, waiting up to `wait`
/// for the first one (long polling).
#[utoipa::path(
    post, path = "/v1/departments/{id}/tasks/fetch", tag = "queues",
    params(("id" = String, Path, description = "Department id")),
    request_body = FetchBody,
    responses(
        (status = 200, body = FetchResponse),
        (status = 400, body = ErrorBody), (status = 403, description = "Another department's token", body = ErrorBody),
        (status = 503, description = "Too many long polls waiting (see Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn fetch<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(department): ApiPath<String>,
    ApiJson(body): ApiJson<FetchBody>,
) -> Result<Json<FetchResponse>, ApiError> {
    caller.require_department(&department)?;
    let max = body.max.unwrap_or(1);
    if !(1..=100).contains(&max) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("`max` is {max}; it must be 1..=100"),
        ));
    }
    let lease = match &body.lease {
        Some(t) => duration("lease", t)?,
        None => st.default_lease(&department),
    };
    let wait = match &body.wait {
        Some(t) => parse_duration(t)
            .map_err(|m| ApiError::bad_request("invalid_body", format!("`wait`: {m}")))?,
        None => Duration::ZERO,
    }
    .min(st.limits().max_wait);
    let req = FetchRequest {
        department,
        region: caller.region.as_deref().map(str::to_owned),
        max,
        lease,
        wait,
        worker: body.worker.unwrap_or_else(|| caller.name.to_string()),
        kinds: body.tasks.unwrap_or_default(),
    };
    let leased = lease_work(&st, req).await?;
    Ok(Json(FetchResponse {
        tasks: leased.iter().map(FetchedTask::from).collect(),
    }))
}

/// Runs a fetch-and-lock for a caller allowed to make it: within the limit of waiting
/// fetches, in a task of its own (leases taken are recorded even if the client goes away;
/// they then expire and the tasks return to the queue), answered empty at shutdown.
pub(crate) async fn lease_work<S: Store + Clone>(
    st: &AppState<S>,
    req: FetchRequest,
) -> Result<Vec<LeasedWork>, ApiError> {
    let Ok(permit) = st.waiters().clone().try_acquire_owned() else {
        st.counters().waiters_full.fetch_add(1, Ordering::Relaxed);
        return Err(ApiError::Unavailable {
            code: "too_many_waiters",
            message: "too many fetches are waiting; retry shortly".to_owned(),
            retry_after: 1,
        });
    };
    let engine = st.engine().clone();
    let handle = tokio::spawn(async move {
        let leased = engine.fetch(&req).await;
        drop(permit);
        leased
    });
    let closing = st.closing();
    let leased = tokio::select! {
        r = handle => r.map_err(|e| ApiError::internal(format!("a fetch failed: {e}")))??,
        () = closing => Vec::new(),
    };
    st.counters()
        .leased
        .fetch_add(leased.len() as u64, Ordering::Relaxed);
    Ok(leased)
}

/// Runs a department's command on a unit it holds the lease of.
pub(crate) async fn command<S: Store + Clone>(
    st: &AppState<S>,
    caller: &Caller,
    task_id: &str,
    token: Option<u64>,
    action: impl FnOnce(TaskRef) -> Action,
) -> Result<(Located, Result<Vec<Event>, ApiError>), ApiError> {
    let id = TaskId::parse(task_id)?;
    let loc = st.locate(caller, &id).await?;
    let result = command_at(st, caller, &loc, token, action(loc.task)).await;
    Ok((loc, result))
}

/// Runs `action` for `caller` on a task already located (and so authorised).
pub(crate) async fn command_at<S: Store + Clone>(
    st: &AppState<S>,
    caller: &Caller,
    loc: &Located,
    token: Option<u64>,
    action: Action,
) -> Result<Vec<Event>, ApiError> {
    let cmd = Command::new(caller.actor(), action)
        .within(caller.region.clone())
        .on_version(loc.entry.version);
    // No token: a back office answering a task pushed to it (never leased); the engine
    // refuses it while somebody's lease is live.
    let cmd = match token {
        Some(t) if t != 0 => cmd.with_lease(t),
        _ => cmd.without_lease(),
    };
    let engine = st.engine().clone();
    let no = loc.case_no.clone();
    st.run_case(&loc.case_no, async move { engine.execute(&no, cmd).await })
        .await
}

pub(crate) fn answer(loc: &Located, status: &str) -> TaskAnswer {
    TaskAnswer {
        task_id: loc.task_id(),
        case_no: loc.case_no.to_string(),
        task: loc.name.clone(),
        status: status.to_owned(),
        lease_token: None,
        lease_expires_at: None,
        retry_at: None,
        deadline: None,
    }
}

/// Extends the lease.
#[utoipa::path(
    post, path = "/v1/tasks/{task_id}/heartbeat", tag = "queues",
    params(("task_id" = String, Path, description = "`<case_no>:<task>`, percent-encoded")),
    request_body = HeartbeatBody,
    responses(
        (status = 200, body = TaskAnswer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Stale or foreign lease token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn heartbeat<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(task_id): ApiPath<String>,
    ApiJson(body): ApiJson<HeartbeatBody>,
) -> Result<Json<TaskAnswer>, ApiError> {
    let lease = match &body.lease {
        Some(t) => duration("lease", t)?,
        None => Duration::from_secs(300),
    };
    heartbeat_one(&st, &caller, &task_id, body.lease_token, lease)
        .await
        .map(Json)
}

/// Extends a lease to `lease` from now, as `POST /v1/tasks/{task_id}/heartbeat` does.
pub(crate) async fn heartbeat_one<S: Store + Clone>(
    st: &AppState<S>,
    caller: &Caller,
    task_id: &str,
    token: u64,
    lease: Duration,
) -> Result<TaskAnswer, ApiError> {
    let until = st
        .engine()
        .clock()
        .now()
        .checked_add(jiff::SignedDuration::try_from(lease).unwrap_or(jiff::SignedDuration::MAX))
        .unwrap_or(jiff::Timestamp::MAX);
    let (loc, events) = command(st, caller, task_id, Some(token), |task| Action::Heartbeat {
        task,
        until,
    })
    .await?;
    events?;
    let mut a = answer(&loc, "dispatched");
    a.lease_token = Some(token);
    a.lease_expires_at = Some(until.to_string());
    Ok(a)
}

/// The department formally accepts (受理) the item: the lease becomes a claim that no
/// longer expires.
#[utoipa::path(
    post, path = "/v1/tasks/{task_id}/accept", tag = "queues",
    params(("task_id" = String, Path, description = "`<case_no>:<task>`, percent-encoded")),
    request_body = AcceptBody,
    responses(
        (status = 200, body = TaskAnswer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Stale or foreign lease token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn accept<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(task_id): ApiPath<String>,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Json<TaskAnswer>, ApiError> {
    let receipt_no = body.receipt_no.clone();
    let (loc, events) = command(&st, &caller, &task_id, body.lease_token, |task| {
        Action::Accept { task, receipt_no }
    })
    .await?;
    events?;
    let mut a = answer(&loc, "accepted");
    a.lease_token = Some(body.lease_token.unwrap_or(0));
    Ok(Json(a))
}

/// The department's decision: approved with output, rejected with a reason, or a
/// supplement request. A repeat of an accepted completion answers the same 200.
#[utoipa::path(
    post, path = "/v1/tasks/{task_id}/complete", tag = "queues",
    params(("task_id" = String, Path, description = "`<case_no>:<task>`, percent-encoded")),
    request_body = CompleteBody,
    responses(
        (status = 200, body = TaskAnswer), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Stale or foreign lease token, or the task is no longer open", body = ErrorBody),
        (status = 422, description = "The output does not match the task's declaration", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn complete<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(task_id): ApiPath<String>,
    ApiJson(body): ApiJson<CompleteBody>,
) -> Result<Json<TaskAnswer>, ApiError> {
    complete_one(&st, &caller, &task_id, body).await.map(Json)
}

/// The most completions one batch may carry.
const MAX_BATCH: usize = 100;

/// Decisions on many tasks of the department in one request (a back office working
/// through a fetched batch). Each completion is checked and applied as if sent alone —
/// same rules, same answers, same error codes — and they are applied side by side, so
/// they share the store's group commits. One failing completion does not fail the others:
/// the answer is 200 with a result per completion, in order.
#[utoipa::path(
    post, path = "/v1/departments/{id}/tasks/complete", tag = "queues",
    params(("id" = String, Path, description = "Department id")),
    request_body = CompleteBatchBody,
    responses(
        (status = 200, description = "One result per completion, in order", body = CompleteBatchResponse),
        (status = 400, body = ErrorBody), (status = 403, description = "Another department's token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn complete_batch<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(department): ApiPath<String>,
    ApiJson(body): ApiJson<CompleteBatchBody>,
) -> Result<Json<CompleteBatchResponse>, ApiError> {
    caller.require_department(&department)?;
    let n = body.completions.len();
    if !(1..=MAX_BATCH).contains(&n) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("`completions` has {n}; send 1..={MAX_BATCH}"),
        ));
    }
    let ids: Vec<String> = body.completions.iter().map(|c| c.task_id.clone()).collect();
    // Completions of one task run in the order sent (a repeat then sees the first one
    // committed); different tasks run side by side.
    let mut groups: Vec<(String, Vec<(usize, BatchCompletion)>)> = Vec::new();
    for (i, item) in body.completions.into_iter().enumerate() {
        match groups.iter_mut().find(|(id, _)| *id == item.task_id) {
            Some((_, g)) => g.push((i, item)),
            None => groups.push((item.task_id.clone(), vec![(i, item)])),
        }
    }
    let mut set = tokio::task::JoinSet::new();
    for (_, group) in groups {
        let (st, caller) = (st.clone(), caller.clone());
        set.spawn(async move {
            let mut out = Vec::with_capacity(group.len());
            for (i, item) in group {
                let (task_id, body) = item.split();
                out.push((i, complete_one(&st, &caller, &task_id, body).await));
            }
            out
        });
    }
    let mut results: Vec<Option<BatchResult>> = (0..n).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let done = joined.map_err(|e| ApiError::internal(format!("a completion failed: {e}")))?;
        for (i, r) in done {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(BatchResult::of(ids[i].clone(), r));
            }
        }
    }
    Ok(Json(CompleteBatchResponse {
        results: results
            .into_iter()
            .zip(ids)
            .map(|(r, id)| {
                r.unwrap_or_else(|| {
                    BatchResult::of(id, Err(ApiError::internal("a completion was lost")))
                })
            })
            .collect(),
    }))
}

/// One completion, as `POST /v1/tasks/{task_id}/complete` answers it.
pub(crate) async fn complete_one<S: Store + Clone>(
    st: &AppState<S>,
    caller: &Caller,
    task_id: &str,
    body: CompleteBody,
) -> Result<TaskAnswer, ApiError> {
    let misplaced = |field: &str, decision: &str| {
        ApiError::bad_request(
            "invalid_body",
            format!("`{field}` belongs to decision `{decision}` only"),
        )
    };
    let decision = body.decision;
    let build: Box<dyn FnOnce(TaskRef) -> Action + Send> = match decision {
        DecisionKind::Approved => {
            if body.reason.is_some() {
                return Err(misplaced("reason", "rejected"));
            }
            if body.missing.is_some() {
                return Err(misplaced("missing", "supplement"));
            }
            let output = body
                .output
                .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()));
            Box::new(move |task| Action::Approve { task, output })
        }
        DecisionKind::Rejected => {
            if body.output.is_some() {
                return Err(misplaced("output", "approved"));
            }
            let reason = body.reason.unwrap_or_default();
            Box::new(move |task| Action::Refuse { task, reason })
        }
        DecisionKind::Supplement => {
            if body.output.is_some() {
                return Err(misplaced("output", "approved"));
            }
            let missing: Vec<Missing> = body
                .missing
                .unwrap_or_default()
                .into_iter()
                .map(|m| Missing {
                    material: m.material,
                    field: m.field,
                    reason: m.reason,
                })
                .collect();
            Box::new(move |task| Action::RequestSupplement { task, missing })
        }
    };
    let (loc, events) = command(st, caller, task_id, body.lease_token, build).await?;
    let done = answer(&loc, decision.status());
    match events {
        Ok(_) => {
            let i = decision as usize;
            st.counters().completions[i].fetch_add(1, Ordering::Relaxed);
            Ok(done)
        }
        Err(e)
            if matches!(e.code(), "stale_lease" | "task_not_open" | "wrong_step")
                && is_repeat(st, &loc, body.lease_token.unwrap_or(0), decision.status()).await =>
        {
            Ok(done)
        }
        Err(e) => Err(e),
    }
}

/// Whether the unit is already as this decision left it, under this very lease: a repeat
/// of an accepted completion.
async fn is_repeat<S: Store + Clone>(
    st: &AppState<S>,
    loc: &Located,
    token: u64,
    status: &str,
) -> bool {
    let Some(bp) = st
        .engine()
        .blueprint(&loc.entry.bundle, Some(loc.entry.version))
    else {
        return false;
    };
    let Ok(events) = st.engine().events(&loc.case_no).await else {
        return false;
    };
    let state = yijian_engine::replay(CaseState::new(loc.case_no.clone(), bp), &events);
    state.unit(loc.task).is_some_and(|u| {
        u.status.as_str() == status && u.lease.as_ref().map_or(token == 0, |l| l.token == token)
    })
}

/// A technical failure: retried with the task's backoff until its attempts are spent,
/// then an incident.
#[utoipa::path(
    post, path = "/v1/tasks/{task_id}/fail", tag = "queues",
    params(("task_id" = String, Path, description = "`<case_no>:<task>`, percent-encoded")),
    request_body = FailBody,
    responses(
        (status = 200, body = TaskAnswer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Stale or foreign lease token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn fail<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(task_id): ApiPath<String>,
    ApiJson(body): ApiJson<FailBody>,
) -> Result<Json<TaskAnswer>, ApiError> {
    let retry_in = body
        .retry_in
        .as_deref()
        .map(|t| duration("retry_in", t))
        .transpose()?;
    let failure = Failure {
        lease_token: body.lease_token,
        error: body.error,
        retry_in,
        retries: body.retries,
    };
    fail_one(&st, &caller, &task_id, failure).await.map(Json)
}

/// A technical failure, as `POST /v1/tasks/{task_id}/fail` takes it once parsed.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) lease_token: Option<u64>,
    pub(crate) error: String,
    pub(crate) retry_in: Option<Duration>,
    pub(crate) retries: Option<u32>,
}

/// One failure, as `POST /v1/tasks/{task_id}/fail` answers it.
pub(crate) async fn fail_one<S: Store + Clone>(
    st: &AppState<S>,
    caller: &Caller,
    task_id: &str,
    failure: Failure,
) -> Result<TaskAnswer, ApiError> {
    let Failure {
        lease_token,
        error,
        retry_in,
        retries,
    } = failure;
    let (loc, events) = command(st, caller, task_id, lease_token, |task| Action::Fail {
        task,
        error,
        retry_in,
        retries,
    })
    .await?;
    let events = events?;
    st.counters().failures.fetch_add(1, Ordering::Relaxed);
    let retry_at = events.iter().find_map(|e| match &e.kind {
        EventKind::TaskFailed { retry_at, .. } => Some(*retry_at),
        _ => None,
    });
    let retry_at = retry_at.flatten();
    let mut a = answer(
        &loc,
        if retry_at.is_some() {
            "retry_wait"
        } else {
            "incident"
        },
    );
    a.retry_at = time(retry_at);
    Ok(a)
}

/// A special step (特殊环节) excluded from the time limit; the task stays with the
/// department.
#[utoipa::path(
    post, path = "/v1/tasks/{task_id}/suspend", tag = "queues",
    params(("task_id" = String, Path, description = "`<case_no>:<task>`, percent-encoded")),
    request_body = SuspendBody,
    responses(
        (status = 200, body = TaskAnswer), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn suspend<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(task_id): ApiPath<String>,
    ApiJson(body): ApiJson<SuspendBody>,
) -> Result<Json<TaskAnswer>, ApiError> {
    let expected = body
        .expected
        .as_deref()
        .map(|t| {
            t.parse::<jiff::Timestamp>().map_err(|e| {
                ApiError::bad_request("invalid_body", format!("`expected`: {e} (use RFC 3339)"))
            })
        })
        .transpose()?;
    let (step, note) = (body.reason.into(), body.note);
    let (loc, events) = command(&st, &caller, &task_id, body.lease_token, |task| {
        Action::Suspend {
            task,
            step,
            note,
            expected,
        }
    })
    .await?;
    events?;
    Ok(Json(answer(&loc, "suspended")))
}

/// The special step is over; the clock runs again with a new deadline.
#[utoipa::path(
    post, path = "/v1/tasks/{task_id}/resume", tag = "queues",
    params(("task_id" = String, Path, description = "`<case_no>:<task>`, percent-encoded")),
    request_body = ResumeBody,
    responses(
        (status = 200, body = TaskAnswer), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn resume<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(task_id): ApiPath<String>,
    ApiJson(body): ApiJson<ResumeBody>,
) -> Result<Json<TaskAnswer>, ApiError> {
    let (loc, events) = command(&st, &caller, &task_id, body.lease_token, |task| {
        Action::Resume { task }
    })
    .await?;
    let events = events?;
    let due = events.iter().find_map(|e| match &e.kind {
        EventKind::TaskResumed { due, .. } => Some(*due),
        _ => None,
    });
    let mut a = answer(&loc, "dispatched");
    a.deadline = time(due.flatten());
    Ok(Json(a))
}
