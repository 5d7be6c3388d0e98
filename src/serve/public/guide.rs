//! `GET /guide` (every deployed bundle) and `GET /guide/{bundle}` (its 办事指南: HTML, or
//! Markdown with `?format=md`; `?version=N` for an older version), without a token. The
//! guide is generated from the blueprint the engine runs cases on.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use yijian_definitions::guide::{Guide, escape, render_html, render_markdown};
use yijian_engine::store::Store;

use crate::serve::error::{ApiError, ApiPath, ApiQuery};
use crate::serve::state::AppState;

/// `?format=html|md&version=N`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GuideQuery {
    format: Option<String>,
    version: Option<u32>,
}

/// The list of bundles with a guide each.
pub(crate) async fn index<S: Store + Clone>(State(st): State<AppState<S>>) -> Response {
    let mut latest: BTreeMap<String, (u32, String)> = BTreeMap::new();
    for bp in st.engine().blueprints() {
        let e = latest
            .entry(bp.id.to_string())
            .or_insert((bp.version, bp.title.clone()));
        if bp.version >= e.0 {
            *e = (bp.version, bp.title.clone());
        }
    }
    let mut rows = String::new();
    for (id, (version, title)) in &latest {
        rows.push_str(&format!(
            "<li><a href=\"/guide/{}\">{}</a> <span class=\"meta\">({} · 版本 {version})</span></li>",
            escape(id),
            escape(title),
            escape(id)
        ));
    }
    let body = format!(
        "<h1>办事指南</h1><p>以下“一件事”的办事指南由其流程定义直接生成,与系统实际办理规则一致。\
         可打印(A4)。</p><ul id=\"bundles\">{rows}</ul>\
         <p><a href=\"/progress\">办件进度查询</a></p>"
    );
    super::page("办事指南", &body).into_response()
}

/// One bundle's guide.
pub(crate) async fn one<S: Store + Clone>(
    State(st): State<AppState<S>>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<GuideQuery>,
) -> Result<Response, ApiError> {
    let bp = st.engine().blueprint(&id, q.version).ok_or_else(|| {
        let v = q
            .version
            .map(|v| format!(" version {v}"))
            .unwrap_or_default();
        ApiError::not_found("unknown_bundle", format!("no bundle {id}{v} is deployed"))
    })?;
    let guide = Guide::of(&bp);
    match q.format.as_deref().unwrap_or("html") {
        "html" => Ok((
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            render_html(&guide),
        )
            .into_response()),
        "md" | "markdown" => Ok((
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            render_markdown(&guide),
        )
            .into_response()),
        other => Err(ApiError::bad_request(
            "invalid_query",
            format!("format `{other}` is not html or md"),
        )),
    }
}
