//! The web console at `/console/`: window intake, case pages, the department desk, the
//! supervisor's board, the designer's preview. Static assets embedded in the binary (no
//! front-end build, nothing fetched at run time) and a login that puts the token into an
//! HttpOnly, SameSite=Strict cookie; the pages then call the same `/v1` API as any client.
//!
//! CSRF: a request authenticated by the cookie (no `Authorization` header) that changes
//! something must carry `X-CSRF-Token`, the SHA-256 of a fixed label and the session's
//! token — which the page learns from `GET /console/session` (same origin only; another
//! site can neither read it nor compute it without the HttpOnly token). Checked in
//! [`super::auth::Caller`], so every POST of the API is covered, not only the console's.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use yijian_engine::store::Store;

use super::auth::{Caller, Role, authenticate};
use super::error::{ApiError, ApiJson};
use super::state::AppState;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "yijian_session";

/// The token of the console's session cookie, if the request has one.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The CSRF token of a session.
pub(crate) fn csrf_of(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"yijian-console-csrf\0");
    h.update(token.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the request's `X-CSRF-Token` is the session's.
pub(crate) fn csrf_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(sent) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let want = csrf_of(token);
    // Same length always (hex of SHA-256); compare without an early exit.
    sent.len() == want.len()
        && sent
            .bytes()
            .zip(want.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// `POST /console/login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
    token: String,
}

/// Who is logged in, and the CSRF token the page sends with every change.
#[derive(Debug, Serialize)]
pub(crate) struct SessionBody {
    name: String,
    role: String,
    department: Option<String>,
    region: Option<String>,
    csrf: String,
}

fn session_of(p: &super::auth::Principal, token: &str) -> SessionBody {
    SessionBody {
        name: p.name.to_string(),
        role: match &p.role {
            Role::Department(_) => "department".to_owned(),
            other => other.to_string(),
        },
        department: match &p.role {
            Role::Department(d) => Some(d.to_string()),
            _ => None,
        },
        region: p.region.as_deref().map(str::to_owned),
        csrf: csrf_of(token),
    }
}

fn cookie(value: &str, max_age: Option<u32>, secure: bool) -> Result<HeaderValue, ApiError> {
    let mut c = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).map_err(|_| {
        ApiError::bad_request(
            "invalid_token",
            "this token has characters a cookie cannot hold; use it as a bearer token",
        )
    })
}

/// Behind a TLS-terminating proxy the cookie is marked `Secure`.
fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Logs in with a token: sets the session cookie (8 hours), answers the session.
pub(crate) async fn login<S: Store + Clone>(
    State(st): State<AppState<S>>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    // A JSON body only: a cross-site HTML form cannot send one without the browser asking
    // this server first (and it says no), so no other site can log a browser in.
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(ApiError::bad_request(
            "invalid_body",
            "send the token as JSON: {\"token\": \"…\"} with Content-Type: application/json",
        ));
    }
    let request = axum::extract::Request::from_parts(parts.clone(), body);
    let ApiJson(LoginBody { token }) =
        <ApiJson<LoginBody> as axum::extract::FromRequest<AppState<S>>>::from_request(request, &st)
            .await?;
    let token = token.trim().to_owned();
    let principal = authenticate(&parts, &st, &token)?;
    let set = cookie(&token, Some(8 * 3600), behind_tls(&parts.headers))?;
    tracing::info!(token.name = %principal.name, "console login");
    Ok((
        [(header::SET_COOKIE, set)],
        Json(session_of(&principal, &token)),
    )
        .into_response())
}

/// The session of the cookie (401 when there is none or it is no longer valid).
pub(crate) async fn session<S: Store + Clone>(
    State(_): State<AppState<S>>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Json<SessionBody>, ApiError> {
    // A caller with a bearer header has no console session to describe.
    let token = session_token(&headers)
        .ok_or_else(|| ApiError::unauthorized("missing_token", "not logged in to the console"))?;
    Ok(Json(session_of(&caller, &token)))
}

/// Logs out: the cookie is cleared (a POST, so it needs the CSRF header like any other).
pub(crate) async fn logout<S: Store + Clone>(
    State(_): State<AppState<S>>,
    headers: HeaderMap,
    _caller: Caller,
) -> Result<Response, ApiError> {
    let set = cookie("", Some(0), behind_tls(&headers))?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, set)]).into_response())
}

/// `/` → the console.
pub(crate) async fn root() -> Redirect {
    Redirect::to("/console/")
}

/// The console's pages' policy: its own scripts and styles only, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The console's one page (every view is drawn by its scripts).
pub(crate) async fn index() -> Response {
    asset(
        "text/html; charset=utf-8",
        include_str!("console/index.html"),
    )
}

/// The console's scripts and style, by file name.
pub(crate) async fn file(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let found = ASSETS.iter().find(|(n, _)| *n == name);
    match found {
        Some((n, body)) if n.ends_with(".css") => asset("text/css; charset=utf-8", body),
        Some((_, body)) => asset("text/javascript; charset=utf-8", body),
        None => ApiError::not_found("no_route", "no such console file").into_response(),
    }
}

/// Every embedded file but the page.
const ASSETS: &[(&str, &str)] = &[
    ("style.css", include_str!("console/style.css")),
    ("app.js", include_str!("console/app.js")),
    ("graph.js", include_str!("console/graph.js")),
    ("intake.js", include_str!("console/intake.js")),
    ("case.js", include_str!("console/case.js")),
    ("desk.js", include_str!("console/desk.js")),
    ("board.js", include_str!("console/board.js")),
    ("designer.js", include_str!("console/designer.js")),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; yijian_session=yj_abc ; b=2"),
        );
        assert_eq!(session_token(&h).as_deref(), Some("yj_abc"));
        h.insert(
            "x-csrf-token",
            HeaderValue::from_str(&csrf_of("yj_abc")).unwrap(),
        );
        assert!(csrf_matches(&h, "yj_abc"));
        assert!(!csrf_matches(&h, "yj_abd"));
    }
}
