//! Cases: submit, read, audit trail, search.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use yijian_definitions::Blueprint;
use yijian_engine::store::{CaseQuery, Store};
use yijian_engine::view::CaseView;
use yijian_engine::{CaseNo, Event, Submission, SubmitRequest, TaskRef};

use crate::serve::auth::{Caller, Principal, Role};
use crate::serve::body::{CaseBody, CaseList, CaseRow, EventsPage, SearchQuery, SubmitBody};
use crate::serve::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::serve::state::AppState;
use crate::serve::task_id::TaskId;

/// Roles that read cases (a department reads only cases with a task of its own).
pub(crate) const READERS: [Role; 3] = [Role::Window, Role::Supervisor, Role::Admin];

/// Refuses (403) a caller that may not read this case.
pub(crate) fn may_read(caller: &Principal, view: &CaseView) -> Result<(), ApiError> {
    match &caller.role {
        Role::Department(d) => {
            if !view.tasks.iter().any(|t| *t.department == **d) {
                return Err(ApiError::forbidden(
                    "wrong_department",
                    format!("case {} has no task of department `{d}`", view.case_no),
                ));
            }
        }
        _ => caller.require(&READERS)?,
    }
    caller.require_region(&view.region)
}

/// The region of a new case: the one asked for, within the token's scope.
pub(crate) fn region_for(caller: &Principal, asked: Option<String>) -> Result<String, ApiError> {
    let region = asked
        .or_else(|| caller.region.as_deref().map(str::to_owned))
        .unwrap_or_default();
    if !region.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            "invalid_region",
            format!("region `{region}` is not a 区划代码 (digits only)"),
        ));
    }
    caller.require_region(&region)?;
    Ok(region)
}

/// The region prefix a listing covers: the one asked for, which must lie within the token's
/// own subtree (else 403), or the token's subtree.
pub(crate) fn scope_of(
    caller: &Principal,
    asked: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match asked.filter(|r| !r.is_empty()) {
        None => Ok(caller.region.as_deref().map(str::to_owned)),
        Some(r) => {
            if !r.chars().all(|c| c.is_ascii_digit()) {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("region `{r}` is not a 区划代码 (digits only)"),
                ));
            }
            caller.require_region(r)?;
            Ok(Some(r.to_owned()))
        }
    }
}

/// The channel of a submission or supplement: `window` unless named; the token's name as
/// the point that took it unless named.
///
/// # Errors
/// `invalid_body` (400) for a channel name outside `[a-z][a-z0-9_-]{0,31}`.
pub(crate) fn via_of(
    caller: &Principal,
    channel: Option<String>,
    taken_by: Option<String>,
) -> Result<yijian_engine::Via, ApiError> {
    let channel = channel.unwrap_or_else(|| "window".to_owned());
    let ok = channel.len() <= 32
        && channel.starts_with(|c: char| c.is_ascii_lowercase())
        && channel
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!(
                "`channel` is `{channel}`; use window, portal, app, kiosk or a name of your own \
                 (lowercase letters, digits, `_`, `-`; at most 32)"
            ),
        ));
    }
    Ok(yijian_engine::Via {
        channel,
        taken_by: Some(taken_by.unwrap_or_else(|| caller.name.to_string())),
    })
}

/// Submits an application. 201 with the case; the same `idempotency_key` again answers
/// the first answer.
#[utoipa::path(
    post, path = "/v1/cases", tag = "cases",
    request_body = SubmitBody,
    responses(
        (status = 201, description = "Accepted (受理)", body = CaseBody),
        (status = 400, body = ErrorBody), (status = 404, description = "Unknown bundle", body = ErrorBody),
        (status = 422, description = "Every problem with the form and materials at once, or not offered", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn submit<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiJson(body): ApiJson<SubmitBody>,
) -> Result<(StatusCode, Json<CaseBody>), ApiError> {
    caller.require(&[Role::Window])?;
    let region = region_for(&caller, body.region)?;
    st.require_offered(&body.bundle, &region)?;
    let key = body.idempotency_key.filter(|k| !k.is_empty());
    if let Some(first) = key
        .as_deref()
        .and_then(|k| st.remembered(&format!("submit:{k}")))
    {
        return Ok((StatusCode::CREATED, Json(first)));
    }
    let via = via_of(&caller, body.channel, body.taken_by)?;
    let code = crate::serve::public::code::new_code()
        .map_err(|e| ApiError::internal(format!("no random source: {e}")))?;
    let sealed = crate::serve::public::code::seal(&code)
        .map_err(|e| ApiError::internal(format!("no random source: {e}")))?;
    let req = SubmitRequest {
        bundle: body.bundle,
        version: body.version,
        submission: Submission {
            region,
            form: body.form,
            materials: body
                .materials
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect(),
            unavailable: body.unavailable,
            commitments: body.commitments,
            via: Some(via),
            progress_code: Some(sealed.clone()),
        },
        idempotency_key: key.clone(),
        actor: Some(caller.actor()),
    };
    let engine = st.engine().clone();
    let view = st.run(async move { engine.submit(req).await }).await?;
    st.index().note(&view);
    let mut answer = CaseBody::from(&view);
    // The code goes on the receipt only if this call created the case: a repeat of an
    // earlier submission (same key) found a case sealed with another code.
    if view.progress_code.as_deref() == Some(sealed.as_str()) {
        answer.progress_code = Some(code);
    }
    if let Some(k) = key {
        st.remember(format!("submit:{k}"), &answer);
    }
    tracing::info!(case.no = %view.case_no, bundle.id = %view.bundle, "case submitted");
    Ok((StatusCode::CREATED, Json(answer)))
}

/// A case: status, every task with its deadline and warning level, the merged supplement
/// notice, the result.
#[utoipa::path(
    get, path = "/v1/cases/{case_no}", tag = "cases",
    params(("case_no" = String, Path, description = "Case number")),
    responses((status = 200, body = CaseBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn get<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(case_no): ApiPath<String>,
) -> Result<Json<CaseBody>, ApiError> {
    let view = st.view(&CaseNo::new(case_no)).await?;
    may_read(&caller, &view)?;
    Ok(Json(CaseBody::from(&view)))
}

/// `?page=&per_page=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Page, from 1.
    page: Option<usize>,
    /// Items per page (default 100, at most 1000).
    per_page: Option<usize>,
}

/// A case's audit trail (全程留痕), oldest first, paged.
#[utoipa::path(
    get, path = "/v1/cases/{case_no}/events", tag = "cases",
    params(("case_no" = String, Path, description = "Case number"), PageQuery),
    responses((status = 200, body = EventsPage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn events<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(case_no): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<EventsPage>, ApiError> {
    let case_no = CaseNo::new(case_no);
    let view = st.view(&case_no).await?;
    may_read(&caller, &view)?;
    let events = st.engine().events(&case_no).await?;
    // Task names in the version each event was decided on (a migration switches it).
    let first = yijian_engine::machine::versions(&events)
        .and_then(|v| v.first().copied())
        .unwrap_or(view.version);
    let bp = st
        .engine()
        .blueprint(&view.bundle, Some(first))
        .ok_or_else(|| ApiError::internal("the case's bundle is not loaded"))?;
    let per_page = q.per_page.unwrap_or(100).clamp(1, 1000);
    let page = q.page.unwrap_or(1).max(1);
    let start = (page - 1).saturating_mul(per_page);
    let shown = yijian_engine::machine::blueprints_along(&bp, &events)
        .enumerate()
        .skip(start)
        .take(per_page)
        .map(|(i, (bp, e))| event_json(bp, &case_no, i + 1, e))
        .collect();
    Ok(Json(EventsPage {
        case_no: case_no.to_string(),
        page,
        per_page,
        total: events.len(),
        events: shown,
    }))
}

/// An event for people: task references by name, the actor as `kind:id`.
fn event_json(bp: &Blueprint, case_no: &CaseNo, seq: usize, e: &Event) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
    let Value::Object(map) = &mut v else {
        return v;
    };
    map.insert("seq".to_owned(), seq.into());
    map.insert("actor".to_owned(), e.actor.to_string().into());
    for key in ["task", "upstream", "refused"] {
        let name = map
            .get(key)
            .and_then(|t| serde_json::from_value::<TaskRef>(t.clone()).ok())
            .map(|r| r.name(bp));
        if let Some(name) = name {
            if key == "task" {
                map.insert(
                    "task_id".to_owned(),
                    TaskId::format(case_no.as_str(), &name).into(),
                );
            }
            map.insert(key.to_owned(), name.into());
        }
    }
    v
}

/// Searches cases, newest first: SQL over the store's indexed columns (every case of the
/// store, whichever node created it), paged by `page` or, cheaper on deep pages, by
/// `before` (the last case number of the previous page, as `next` gives it).
#[utoipa::path(
    get, path = "/v1/cases", tag = "cases",
    params(SearchQuery),
    responses((status = 200, body = CaseList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn search<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<CaseList>, ApiError> {
    let own_department = match &caller.role {
        Role::Department(d) => Some(d.to_string()),
        _ => {
            caller.require(&READERS)?;
            None
        }
    };
    if let (Some(own), Some(asked)) = (&own_department, &q.department)
        && own != asked
    {
        // A department sees the cases it has a task in: asking for another's gives none.
        return Ok(Json(CaseList {
            page: q.page.unwrap_or(1).max(1),
            per_page: q.per_page.unwrap_or(50).clamp(1, 200),
            total: 0,
            total_capped: false,
            cases: Vec::new(),
            next: None,
        }));
    }
    let warning = match q.warning.as_deref() {
        None => None,
        Some(w) => Some(yijian_engine::case::Warning::from_name(w).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!("warning `{w}` is not a level: use green, yellow or red"),
            )
        })?),
    };
    let task_state = match q.task_state.as_deref() {
        None => None,
        Some(x) => Some(yijian_engine::UnitStatus::from_name(x).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!("task_state `{x}` is not a unit state (waiting, dispatched, incident…)"),
            )
        })?),
    };
    let per_page = q.per_page.unwrap_or(50).clamp(1, 200);
    let page = q.page.unwrap_or(1).max(1);
    let query = CaseQuery {
        region: scope_of(&caller, q.region.as_deref())?,
        bundle: q.bundle.clone(),
        status: q.status.clone(),
        warning,
        department: own_department.or(q.department.clone()),
        task_state,
        task_kind: q.task.clone(),
        channel: q.channel.clone(),
        before: q.before.as_deref().map(CaseNo::new),
        offset: if q.before.is_some() {
            0
        } else {
            (page - 1).saturating_mul(per_page)
        },
        limit: per_page,
        count: true,
    };
    let found = st
        .engine()
        .store()
        .search(&query)
        .await
        .map_err(|e| ApiError::from(yijian_engine::EngineError::from(e)))?;
    let next = (found.cases.len() == per_page)
        .then(|| found.cases.last().map(|c| c.case_no.to_string()))
        .flatten();
    let cases = found
        .cases
        .into_iter()
        .map(|c| CaseRow {
            case_no: c.case_no.to_string(),
            bundle: c.bundle.to_string(),
            region: c.region.to_string(),
            status: c.status.into_owned(),
            warning: c.warning.as_str().to_owned(),
            deadline: c.due.map(|t| t.to_string()),
        })
        .collect();
    Ok(Json(CaseList {
        page,
        per_page,
        total: usize::try_from(found.total.unwrap_or(0)).unwrap_or(usize::MAX),
        total_capped: found.total == Some(CaseQuery::MAX_COUNT),
        cases,
        next,
    }))
}
