//! The router without a socket (`oneshot`): unknown routes and methods, the OpenAPI
//! document, health.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt as _;
use yijian::engine::{Engine, MemoryStore};
use yijian::serve::{AppState, app};

async fn call(uri: &str, method: &str) -> (StatusCode, Value) {
    let engine = Engine::builder(MemoryStore::new())
        .build()
        .await
        .expect("engine");
    let app = app(AppState::builder(engine).build());
    let res = app
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answered");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let (s, v) = call("/v1/nope", "GET").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_route"))
    );
    let (s, v) = call("/v1/cases", "DELETE").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let (s, v) = call("/v1/cases", "GET").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_token"))
    );
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint() {
    let (s, doc) = call("/v1/openapi.json", "GET").await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/v1/bundles",
        "/v1/bundles/{id}",
        "/v1/bundles/{id}/{version}",
        "/v1/bundles/{id}/{version}/graph",
        "/v1/cases",
        "/v1/cases/{case_no}",
        "/v1/cases/{case_no}/events",
        "/v1/cases/{case_no}/supplements",
        "/v1/cases/{case_no}/withdraw",
        "/v1/cases/{case_no}/evaluation",
        "/v1/cases/{case_no}/confirm",
        "/v1/triggers",
        "/v1/departments/{id}/tasks/fetch",
        "/v1/tasks/{task_id}/heartbeat",
        "/v1/tasks/{task_id}/accept",
        "/v1/tasks/{task_id}/complete",
        "/v1/tasks/{task_id}/fail",
        "/v1/tasks/{task_id}/suspend",
        "/v1/tasks/{task_id}/resume",
        "/v1/incidents",
        "/v1/incidents/{id}/retry",
        "/v1/incidents/{id}/cancel",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} is missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["CompleteBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn health_and_readiness() {
    assert_eq!(call("/healthz", "GET").await.1["status"], "ok");
    assert_eq!(call("/readyz", "GET").await.1["status"], "ready");
}
