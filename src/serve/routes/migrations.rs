//! `POST /v1/bundles/{id}/migrations`: moving running cases to another version of their
//! bundle (docs/procedures.md "Migrating running cases"), as a dry run or for real. The
//! engine plans and decides each case; this layer reads the body and checks the caller.

use axum::Json;
use axum::extract::State;
use yijian_engine::store::Store;
use yijian_engine::{CaseNo, MigrationRequest};

use crate::serve::auth::{Caller, Role};
use crate::serve::body::{MigrationAnswer, MigrationBody};
use crate::serve::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use crate::serve::state::AppState;

/// Plans or runs a migration, one case and one transaction at a time; run it again to
/// resume an interrupted one (cases already moved are not moved twice).
#[utoipa::path(
    post, path = "/v1/bundles/{id}/migrations", tag = "bundles",
    params(("id" = String, Path, description = "Bundle id")),
    request_body = MigrationBody,
    responses(
        (status = 200, body = MigrationAnswer), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such bundle version, or a named case unknown", body = ErrorBody),
        (status = 422, description = "A mapping that does not fit the two versions", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn migrate<S: Store + Clone>(
    State(st): State<AppState<S>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MigrationBody>,
) -> Result<Json<MigrationAnswer>, ApiError> {
    caller.require(&[Role::Admin])?;
    let limit = body.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("`limit` is {limit}; it must be 1 to 1000"),
        ));
    }
    let req = MigrationRequest {
        bundle: id.clone(),
        from: body.from_version,
        to: body.to_version,
        cases: body
            .cases
            .map(|cs| cs.into_iter().map(CaseNo::new).collect()),
        mapping: body.mapping,
        reason: body
            .reason
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| format!("迁移至第 {} 版", body.to_version)),
        dry_run: body.dry_run,
        after: body.after.map(CaseNo::new),
        limit,
    };
    let engine = st.engine().clone();
    let actor = caller.actor();
    let scope = caller.region.clone();
    let report = st
        .run(async move { engine.migrate_cases(&req, actor, scope.as_deref()).await })
        .await?;
    let mut cases = Vec::with_capacity(report.plans.len());
    for p in &report.plans {
        if p.migratable && !body.dry_run {
            // The index learns the case's new version.
            st.view(&CaseNo::new(p.case_no.clone())).await?;
        }
        let mut v = serde_json::to_value(p).unwrap_or_default();
        if !p.migratable
            && let Some(m) = v.as_object_mut()
        {
            m.insert(
                "error".into(),
                serde_json::json!({"code": "not_migratable", "message": p.reasons.join("; ")}),
            );
        }
        cases.push(v);
    }
    let migratable = report.plans.iter().filter(|p| p.migratable).count();
    Ok(Json(MigrationAnswer {
        bundle: id,
        from_version: body.from_version,
        to_version: body.to_version,
        dry_run: body.dry_run,
        migratable,
        not_migratable: report.plans.len() - migratable,
        cases,
        next: report.next.map(|n| n.to_string()),
    }))
}
