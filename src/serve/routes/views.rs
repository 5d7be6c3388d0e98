//! Views for people at screens (the console is built on them; any integrator may call
//! them): an application's preview, why a case waits, a bundle checked without deploying.

use axum::Json;
use axum::extract::State;
use yijian_engine::case::Warning;
use yijian_engine::store::Store;
use yijian_engine::{CaseNo, Submission};

use super::bundles::unknown_bundle;
use super::cases::{may_read, region_for, scope_of};
use crate::serve::auth::{Caller, Role};
use crate::serve::body::{
    BoardDepartment, BoardResponse, BundleBody, CheckResponse, DiagnosticBody, PreviewBody,
    PreviewResponse, SimulateBody, SimulateResponse, WhyResponse,
};
use crate::serve::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody, TextBody};
use crate::serve::state::AppState;

/// What an application would become if submitted now, as filled so far (nothing is
/// stored): the items that apply (情形 `when` evaluated on the server), the merged
/// materials checklist, the due dates in working days, and what is still missing.
#[utoipa::path(
    post, path = "/v1/bundles/{id}/preview", tag = "bundles",
    params(("id" = String, Path, description = "Bundle id")),
    request_body = PreviewBody,
    responses((status = 200, body = PreviewResponse), (status = 404, description = "Unknown bundle", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn preview<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PreviewBody>,
) -> Result<Json<PreviewResponse>, ApiError> {
    caller.require(&[Role::Window, Role::Admin])?;
    let region = region_for(&caller, body.region)?;
    st.require_offered(&id, &region)?;
    let submission = Submission {
        region,
        form: body.form,
        materials: body
            .materials
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect(),
        unavailable: body.unavailable,
        commitments: body.commitments,
        ..Submission::default()
    };
    let p = st
        .engine()
        .preview(&id, body.version, &submission)
        .map_err(|_| unknown_bundle(&id, body.version))?;
    Ok(Json(p.into()))
}

/// Why a case waits: the units holding it, since when, due when, working days left, and
/// the rest of its critical path with the end it reaches if each item uses its limit.
#[utoipa::path(
    get, path = "/v1/cases/{case_no}/why", tag = "cases",
    params(("case_no" = String, Path, description = "Case number")),
    responses((status = 200, body = WhyResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn why<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(case_no): ApiPath<String>,
) -> Result<Json<WhyResponse>, ApiError> {
    let no = CaseNo::new(&case_no);
    // One read of the case for both the access check and the answer.
    let now = st.engine().clock().now();
    let (view, why) = st
        .engine()
        .inspect(&no, |s| {
            (
                yijian_engine::view::CaseView::of(s),
                yijian_engine::why::why(s, now),
            )
        })
        .await?;
    st.index().note(&view);
    may_read(&caller, &view)?;
    Ok(Json(WhyResponse::of(&case_no, why)))
}

/// Checks a bundle's YAML as a deploy would, without deploying it: every diagnostic with
/// its code, line and column, and the compiled bundle (for its graph) when it has no
/// errors. Always 200: the diagnostics are the answer.
#[utoipa::path(
    post, path = "/v1/bundles/check", tag = "bundles",
    request_body(content = String, content_type = "application/yaml", description = "The bundle's YAML text"),
    responses((status = 200, body = CheckResponse)),
    security(("bearer" = []))
)]
pub(crate) async fn check<S: Store + Clone>(
    State(st): State<AppState<S>>,
    _caller: Caller,
    TextBody(yaml): TextBody,
) -> Result<Json<CheckResponse>, ApiError> {
    Ok(Json(match st.engine().check(&yaml) {
        Ok((bp, warnings)) => CheckResponse {
            ok: true,
            diagnostics: warnings.iter().map(DiagnosticBody::from).collect(),
            bundle: Some(BundleBody::of(&bp, yaml)),
        },
        Err(diagnostics) => CheckResponse {
            ok: false,
            diagnostics: diagnostics.iter().map(DiagnosticBody::from).collect(),
            bundle: None,
        },
    }))
}

/// `GET /v1/board?region=`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct BoardQuery {
    /// A region prefix within the token's own subtree (default: the token's subtree).
    region: Option<String>,
}

/// The supervisor's board (电子监察): open cases at yellow and red, and unsettled units at
/// yellow and red by department, within the token's region subtree (or a part of it) —
/// counted from indexes over the warned rows only, however many cases are open.
#[utoipa::path(
    get, path = "/v1/board", tag = "cases",
    params(BoardQuery),
    responses((status = 200, body = BoardResponse), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn board<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<BoardQuery>,
) -> Result<Json<BoardResponse>, ApiError> {
    caller.require(&[Role::Supervisor, Role::Admin])?;
    let region = scope_of(&caller, q.region.as_deref())?.unwrap_or_default();
    let b = st
        .engine()
        .store()
        .board(&region)
        .await
        .map_err(|e| ApiError::from(yijian_engine::EngineError::from(e)))?;
    let count = |w| b.cases.iter().find(|(l, _)| *l == w).map_or(0, |(_, n)| *n);
    let mut departments: Vec<BoardDepartment> = Vec::new();
    for (d, w, n) in &b.tasks {
        if departments.last().is_none_or(|x| x.department != *d) {
            departments.push(BoardDepartment {
                department: d.clone(),
                yellow: 0,
                red: 0,
            });
        }
        if let Some(x) = departments.last_mut() {
            match w {
                Warning::Red => x.red += n,
                _ => x.yellow += n,
            }
        }
    }
    Ok(Json(BoardResponse {
        region,
        yellow_cases: count(Warning::Yellow),
        red_cases: count(Warning::Red),
        departments,
    }))
}

/// The most steps a simulation run from the API may have (the CLI has no such limit).
const MAX_STEPS: usize = 200;

/// Runs a `simulate` script (docs/simulate.md) on a bundle's text, with the real engine on
/// an in-memory store and a scripted clock, on the deployment's calendars: nothing is
/// deployed or stored. Always 200: a bundle or script that does not run is `ok: false` with
/// the reason.
#[utoipa::path(
    post, path = "/v1/bundles/simulate", tag = "bundles",
    request_body = SimulateBody,
    responses((status = 200, body = SimulateResponse)),
    security(("bearer" = []))
)]
pub(crate) async fn simulate<S: Store + Clone>(
    State(st): State<AppState<S>>,
    _caller: Caller,
    ApiJson(body): ApiJson<SimulateBody>,
) -> Result<Json<SimulateResponse>, ApiError> {
    let failed = |error: String| SimulateResponse {
        ok: false,
        error: Some(error),
        table: None,
        result: None,
    };
    if let Err(diagnostics) = st.engine().check(&body.yaml) {
        let first = diagnostics.first().map_or_else(String::new, |d| {
            format!(
                "bundle:{}:{}: {} {}",
                d.pos.line,
                d.pos.column,
                d.code.as_str(),
                d.message
            )
        });
        return Ok(Json(failed(format!(
            "the bundle has {} error(s); check it first — {first}",
            diagnostics.len()
        ))));
    }
    let script = match crate::simulate::Script::parse(&body.script, "script") {
        Ok(s) => s,
        Err(e) => return Ok(Json(failed(format!("{e:#}")))),
    };
    if script.steps() > MAX_STEPS {
        return Ok(Json(failed(format!(
            "the script has {} steps; at most {MAX_STEPS} run here (use `yijian simulate`)",
            script.steps()
        ))));
    }
    let calendars = st
        .engine()
        .calendars()
        .map_err(|e| ApiError::internal(format!("calendars: {e}")))?;
    let bundles = [crate::simulate::BundleText {
        origin: "bundle".to_owned(),
        yaml: body.yaml,
    }];
    let (line, column) = script.bundle_at();
    let place = format!("script:{line}:{column}");
    let ran = crate::simulate::run(&script, &bundles, None, calendars, &place).await;
    Ok(Json(match ran {
        Ok(report) => SimulateResponse {
            ok: true,
            error: None,
            table: Some(report.table),
            result: Some(report.json),
        },
        Err(e) => failed(format!("{e:#}")),
    }))
}
