//! Bundles: deploy (admin), list, read, draw.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use yijian_definitions::GraphFormat;
use yijian_engine::store::Store;

use crate::serve::auth::{Caller, Role};
use crate::serve::body::{BundleBody, BundleRow, DeployResponse, DiagnosticBody};
use crate::serve::error::{ApiError, ApiPath, ApiQuery, ErrorBody, TextBody};
use crate::serve::state::AppState;

/// Deploys a bundle (its YAML text as the body). id+version is immutable: the same text
/// again is 200, other text 409.
#[utoipa::path(
    post, path = "/v1/bundles", tag = "bundles",
    request_body(content = String, content_type = "application/yaml", description = "The bundle's YAML text"),
    responses(
        (status = 201, description = "Deployed", body = DeployResponse),
        (status = 200, description = "The same text was already deployed", body = DeployResponse),
        (status = 409, description = "id+version deployed with other text", body = ErrorBody),
        (status = 422, description = "The bundle has errors: `diagnostics` lists each with line and column", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn deploy<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    TextBody(yaml): TextBody,
) -> Result<(StatusCode, Json<DeployResponse>), ApiError> {
    caller.require(&[Role::Admin])?;
    let engine = st.engine().clone();
    let result = st.run(async move { engine.deploy(&yaml).await }).await?;
    tracing::info!(bundle.id = %result.id, bundle.version = result.version, created = result.created, "bundle deployed");
    let status = if result.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(DeployResponse {
            id: result.id,
            version: result.version,
            warnings: result.warnings.iter().map(DiagnosticBody::from).collect(),
        }),
    ))
}

/// Every deployed bundle, with its versions (for a window token: those offered somewhere in
/// its region, see `offered_in`).
#[utoipa::path(
    get, path = "/v1/bundles", tag = "bundles",
    responses((status = 200, body = Vec<BundleRow>), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
) -> Json<Vec<BundleRow>> {
    let mut rows: BTreeMap<String, BundleRow> = BTreeMap::new();
    // A window sees the bundles offered somewhere in its region (`offered_in`).
    let window_region = (caller.role == Role::Window)
        .then(|| caller.region.as_deref().unwrap_or_default().to_owned());
    for bp in st.engine().blueprints() {
        if window_region
            .as_deref()
            .is_some_and(|r| !st.offered_within(&bp.id, r))
        {
            continue;
        }
        let row = rows.entry(bp.id.to_string()).or_insert_with(|| BundleRow {
            id: bp.id.to_string(),
            title: bp.title.clone(),
            latest: bp.version,
            versions: Vec::new(),
        });
        row.versions.push(bp.version);
        if bp.version >= row.latest {
            row.latest = bp.version;
            row.title = bp.title.clone();
        }
    }
    Json(rows.into_values().collect())
}

/// The latest version of a bundle.
#[utoipa::path(
    get, path = "/v1/bundles/{id}", tag = "bundles",
    params(("id" = String, Path, description = "Bundle id")),
    responses((status = 200, body = BundleBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn latest<S: Store + Clone>(
    State(st): State<AppState<S>>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BundleBody>, ApiError> {
    bundle(&st, &id, None).await.map(Json)
}

/// One version of a bundle.
#[utoipa::path(
    get, path = "/v1/bundles/{id}/{version}", tag = "bundles",
    params(("id" = String, Path, description = "Bundle id"), ("version" = u32, Path, description = "Version")),
    responses((status = 200, body = BundleBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn version<S: Store + Clone>(
    State(st): State<AppState<S>>,
    _caller: Caller,
    ApiPath((id, version)): ApiPath<(String, u32)>,
) -> Result<Json<BundleBody>, ApiError> {
    bundle(&st, &id, Some(version)).await.map(Json)
}

async fn bundle<S: Store + Clone>(
    st: &AppState<S>,
    id: &str,
    version: Option<u32>,
) -> Result<BundleBody, ApiError> {
    let bp = st
        .engine()
        .blueprint(id, version)
        .ok_or_else(|| unknown_bundle(id, version))?;
    let yaml = st
        .engine()
        .store()
        .bundle(&bp.id, bp.version)
        .await?
        .map(|b| b.yaml)
        .unwrap_or_default();
    Ok(BundleBody::of(&bp, yaml))
}

pub(crate) fn unknown_bundle(id: &str, version: Option<u32>) -> ApiError {
    let v = version.map(|v| format!(" version {v}")).unwrap_or_default();
    ApiError::not_found("unknown_bundle", format!("no bundle {id}{v} is deployed"))
}

/// `?format=mermaid|dot`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct GraphQuery {
    /// `mermaid` (default) or `dot`.
    format: Option<String>,
}

/// A picture of the bundle's task graph (Mermaid or Graphviz DOT text).
#[utoipa::path(
    get, path = "/v1/bundles/{id}/{version}/graph", tag = "bundles",
    params(("id" = String, Path, description = "Bundle id"), ("version" = u32, Path, description = "Version"), GraphQuery),
    responses(
        (status = 200, description = "The picture", body = String, content_type = "text/plain"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn graph<S: Store + Clone>(
    State(st): State<AppState<S>>,
    _caller: Caller,
    ApiPath((id, version)): ApiPath<(String, u32)>,
    ApiQuery(q): ApiQuery<GraphQuery>,
) -> Result<Response, ApiError> {
    let format = match q.format.as_deref().unwrap_or("mermaid") {
        "mermaid" => GraphFormat::Mermaid,
        "dot" => GraphFormat::Dot,
        other => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("format `{other}` is not mermaid or dot"),
            ));
        }
    };
    let bp = st
        .engine()
        .blueprint(&id, Some(version))
        .ok_or_else(|| unknown_bundle(&id, Some(version)))?;
    let text = yijian_definitions::render(&bp, format);
    let content_type = match format {
        GraphFormat::Dot => "text/vnd.graphviz; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}
