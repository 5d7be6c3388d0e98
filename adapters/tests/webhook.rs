//! The webhook adapter over real HTTP on loopback: an axum back office that records and
//! verifies every request, driven by a real engine on the in-memory store.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use yijian_adapters::webhook::{
    Backoff, DEFAULT_TOLERANCE, Retry, Secret, SignatureError, Webhook, WebhookConfig,
    verify_signature,
};
use yijian_engine::{
    Actor, CaseNo, Decision, Engine, MemoryStore, Submission, SubmitRequest, UnitStatus,
};

const SECRET: &[u8] = b"fire-hmac-secret";
const MS: Duration = Duration::from_millis(1);

const BUNDLE: &str = r#"
yijian: 1
id: webhook-demo
version: 1
title: 网钩示例
time_limit: 5wd
form:
  shop_name: {type: string, required: true}
tasks:
  licence:
    title: 营业执照
    department: market
    input: {name: form.shop_name}
  fire_check:
    title: 消防安全检查
    department: fire
    input: {name: form.shop_name}
    output: {permit_no: string}
"#;

/// What the back office does with one request.
#[derive(Debug, Clone)]
enum Reply {
    /// Answers this status and body.
    Status(u16, &'static str),
    /// Answers this status with `Retry-After`.
    RetryAfter(u16, &'static str),
    /// Sleeps this long, then answers 200 with an empty body.
    Hang(Duration),
    /// Answers 200 with this JSON.
    Json(Value),
}

/// One request as the back office saw it.
#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    event: String,
    delivery: String,
    content_type: String,
    timestamp: String,
    signature: String,
    body: Bytes,
    verified: Result<(), SignatureError>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Debug)]
struct BackOffice {
    script: Mutex<VecDeque<Reply>>,
    otherwise: Reply,
    received: Mutex<Vec<Received>>,
}

impl BackOffice {
    fn received(&self, event: &str) -> Vec<Received> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.event == event)
            .cloned()
            .collect()
    }

    async fn wait_for(&self, event: &str, n: usize) -> Vec<Received> {
        eventually(|| async { (self.received(event).len() >= n).then_some(()) }).await;
        self.received(event)
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn handle(
    State(office): State<Arc<BackOffice>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let timestamp = header(&headers, "x-yijian-timestamp");
    let signature = header(&headers, "x-yijian-signature");
    let verified = verify_signature(
        SECRET,
        &timestamp,
        &signature,
        &body,
        SystemTime::now(),
        DEFAULT_TOLERANCE,
    );
    let event = header(&headers, "x-yijian-event");
    office.received.lock().unwrap().push(Received {
        at: Instant::now(),
        event: event.clone(),
        delivery: header(&headers, "x-yijian-delivery"),
        content_type: header(&headers, "content-type"),
        timestamp,
        signature,
        body,
        verified,
    });
    if event != "task.dispatched" {
        return StatusCode::NO_CONTENT.into_response();
    }
    let reply = office
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| office.otherwise.clone());
    let status = |code| StatusCode::from_u16(code).unwrap();
    match reply {
        Reply::Status(code, body) => (status(code), body).into_response(),
        Reply::RetryAfter(code, after) => {
            (status(code), [("retry-after", after)], "busy").into_response()
        }
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
        Reply::Json(v) => (StatusCode::OK, axum::Json(v)).into_response(),
    }
}

/// A back office on 127.0.0.1:0 answering `script` in order, then `otherwise`.
async fn back_office(script: Vec<Reply>, otherwise: Reply) -> (String, Arc<BackOffice>) {
    let office = Arc::new(BackOffice {
        script: Mutex::new(script.into()),
        otherwise,
        received: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/tasks", post(handle))
        .with_state(office.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/tasks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, office)
}

fn config(
    url: &str,
    timeout: Duration,
    attempts: u32,
    backoff: (Duration, Duration),
) -> WebhookConfig {
    WebhookConfig::new(url, Secret::new(SECRET))
        .timeout(timeout)
        .retry(Retry::new(attempts, Backoff::new(backoff.0, backoff.1)))
}

/// An engine with the bundle deployed and `fire` bound to the webhook; one case submitted.
async fn case_with(webhook: &Webhook) -> (Engine<MemoryStore>, CaseNo) {
    let engine = Engine::builder(MemoryStore::new()).build().await.unwrap();
    engine.deploy(BUNDLE).await.unwrap();
    engine.register_adapter("fire", Arc::new(webhook.clone()));
    let case = engine
        .submit(SubmitRequest {
            bundle: "webhook-demo".into(),
            submission: Submission {
                form: json!({"shop_name": "张记小吃"})
                    .as_object()
                    .cloned()
                    .unwrap(),
                ..Submission::default()
            },
            ..SubmitRequest::default()
        })
        .await
        .unwrap();
    (engine, case.case_no)
}

/// Polls until `check` gives a value (5 s at most).
async fn eventually<T, F, Fut>(check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting");
        tokio::time::sleep(5 * MS).await;
    }
}

async fn fire_check_when(
    engine: &Engine<MemoryStore>,
    case_no: &CaseNo,
    done: impl Fn(UnitStatus) -> bool,
) -> yijian_engine::view::TaskView {
    eventually(|| async {
        let case = engine.case(case_no).await.unwrap();
        let task = case.task("fire_check").unwrap().clone();
        done(task.status).then_some(task)
    })
    .await
}

#[tokio::test]
async fn a_failing_then_hanging_back_office_is_retried_until_it_approves() {
    let timeout = 300 * MS;
    let (min, max) = (50 * MS, 2000 * MS);
    let (url, office) = back_office(
        vec![
            Reply::Status(500, "database down"),
            Reply::Hang(timeout * 3),
            Reply::Json(json!({"decision": "approved", "output": {"permit_no": "XF-2026-001"}})),
        ],
        Reply::Status(500, "unexpected extra delivery"),
    )
    .await;
    let webhook = Webhook::new(config(&url, timeout, 5, (min, max))).unwrap();
    let (engine, case_no) = case_with(&webhook).await;

    let task = fire_check_when(&engine, &case_no, |s| s == UnitStatus::Approved).await;
    assert_eq!(task.output, Some(json!({"permit_no": "XF-2026-001"})));
    assert_eq!(task.attempts, 1, "HTTP retries are not engine dispatches");
    assert_eq!(webhook.in_flight(), 0);

    let got = office.received("task.dispatched");
    assert_eq!(got.len(), 3, "{got:#?}");
    for r in &got {
        assert_eq!(r.delivery, format!("{case_no}/fire_check/1"));
        assert_eq!(r.content_type, "application/json");
        assert_eq!(r.verified, Ok(()), "{r:?}");
        assert_eq!(r.body, got[0].body, "every attempt carries the same body");
    }
    let body = got[0].json();
    assert_eq!(body["event"], "task.dispatched");
    assert_eq!(body["task_id"], format!("{case_no}:fire_check"));
    assert_eq!(body["case_no"], json!(case_no));
    assert_eq!(body["task"], "fire_check");
    assert_eq!(body["department"], "fire");
    assert_eq!(body["attempt"], 1);
    assert_eq!(body["input"], json!({"name": "张记小吃"}));

    // Retry n waits in [min·2ⁿ⁻¹, min·2ⁿ]; the second gap also holds the timed-out attempt.
    let gap1 = got[1].at - got[0].at;
    let gap2 = got[2].at - got[1].at;
    assert!(gap1 >= min, "first retry after {gap1:?}, before {min:?}");
    assert!(gap2 >= timeout + 2 * min, "second retry after {gap2:?}");
    assert!(gap2 >= gap1, "spacing shrank: {gap1:?} then {gap2:?}");
    // Loose upper bounds: the jitter stays in its window (plus scheduling slack).
    assert!(gap1 < 2 * min + 500 * MS, "{gap1:?}");
    assert!(gap2 < timeout + 4 * min + 500 * MS, "{gap2:?}");

    // The figures /metrics shows: two attempts to retry (500, timeout), one answered.
    let stats = webhook.stats();
    assert_eq!(
        (stats.retried, stats.answered, stats.accepted, stats.refused),
        (2, 1, 0, 0)
    );
    assert_eq!(stats.latency_count, 3);
    assert!(
        stats.latency_sum >= timeout,
        "the timed-out attempt counts its wait"
    );
    assert_eq!(stats.failed_deliveries, 0);
}

#[tokio::test]
async fn accepted_now_completed_later_through_the_engine() {
    let (url, office) = back_office(vec![], Reply::Status(202, "")).await;
    let webhook = Webhook::new(config(&url, 2000 * MS, 3, (10 * MS, 200 * MS))).unwrap();
    let (engine, case_no) = case_with(&webhook).await;

    office.wait_for("task.dispatched", 1).await;
    eventually(|| async { (webhook.in_flight() == 0).then_some(()) }).await;
    let case = engine.case(&case_no).await.unwrap();
    assert_eq!(
        case.task("fire_check").unwrap().status,
        UnitStatus::Dispatched
    );

    engine
        .complete(
            &case_no,
            "fire_check",
            Actor::Department("fire".into()),
            Decision::Approve(json!({"permit_no": "XF-LATER"})),
        )
        .await
        .unwrap();
    let task = fire_check_when(&engine, &case_no, |s| s == UnitStatus::Approved).await;
    assert_eq!(task.output, Some(json!({"permit_no": "XF-LATER"})));
    assert_eq!(office.received("task.dispatched").len(), 1);
}

#[tokio::test]
async fn a_client_error_is_a_failure_without_retries() {
    let (url, office) = back_office(
        vec![Reply::Status(400, r#"{"error": "unknown item code"}"#)],
        Reply::Status(500, "unexpected extra delivery"),
    )
    .await;
    let webhook = Webhook::new(config(&url, 2000 * MS, 5, (10 * MS, 200 * MS))).unwrap();
    let (engine, case_no) = case_with(&webhook).await;

    let task = fire_check_when(&engine, &case_no, |s| s != UnitStatus::Dispatched).await;
    // The engine's own retry policy takes over (its timers are not running here).
    assert_eq!(task.status, UnitStatus::RetryWait);
    let reason = task.reason.unwrap_or_default();
    assert!(reason.contains("HTTP 400 Bad Request"), "{reason}");
    assert!(reason.contains("unknown item code"), "{reason}");
    assert!(
        reason.contains(&format!("{case_no}/fire_check/1")),
        "{reason}"
    );
    // More than every backoff window: nothing else arrives.
    tokio::time::sleep(400 * MS).await;
    assert_eq!(office.received("task.dispatched").len(), 1);
    let stats = webhook.stats();
    assert_eq!((stats.refused, stats.failed_deliveries), (1, 1));
}

#[tokio::test]
async fn retry_after_is_honoured_on_503() {
    let (url, office) = back_office(
        vec![
            Reply::RetryAfter(503, "1"),
            Reply::Json(json!({"decision": "rejected", "reason": "场所不符合要求"})),
        ],
        Reply::Status(500, "unexpected extra delivery"),
    )
    .await;
    let webhook = Webhook::new(config(&url, 2000 * MS, 3, (10 * MS, 5000 * MS))).unwrap();
    let (engine, case_no) = case_with(&webhook).await;

    let task = fire_check_when(&engine, &case_no, |s| s == UnitStatus::Rejected).await;
    assert_eq!(task.reason.as_deref(), Some("场所不符合要求"));
    let got = office.received("task.dispatched");
    assert_eq!(got.len(), 2);
    assert!(
        got[1].at - got[0].at >= Duration::from_secs(1),
        "{:?}",
        got[1].at - got[0].at
    );
}

#[tokio::test]
async fn an_answer_the_engine_refuses_becomes_a_failure() {
    let (url, _office) = back_office(
        vec![Reply::Json(
            json!({"decision": "approved", "output": {"permit_no": 42}}),
        )],
        Reply::Status(500, "unexpected extra delivery"),
    )
    .await;
    let webhook = Webhook::new(config(&url, 2000 * MS, 3, (10 * MS, 200 * MS))).unwrap();
    let (engine, case_no) = case_with(&webhook).await;

    let task = fire_check_when(&engine, &case_no, |s| s != UnitStatus::Dispatched).await;
    assert_eq!(task.status, UnitStatus::RetryWait);
    let reason = task.reason.unwrap_or_default();
    assert!(reason.contains("was refused"), "{reason}");
    assert!(reason.contains("permit_no"), "{reason}");
}

#[tokio::test]
async fn withdrawing_the_task_pushes_a_signed_cancellation() {
    let (url, office) = back_office(vec![], Reply::Status(202, "")).await;
    let webhook = Webhook::new(config(&url, 2000 * MS, 3, (10 * MS, 200 * MS))).unwrap();
    let (engine, case_no) = case_with(&webhook).await;
    office.wait_for("task.dispatched", 1).await;

    engine
        .withdraw(&case_no, Some(&["fire_check"]), "申请人不再需要")
        .await
        .unwrap();
    let cancelled = office.wait_for("task.cancelled", 1).await;
    let notice = &cancelled[0];
    assert_eq!(notice.verified, Ok(()));
    assert_eq!(notice.content_type, "application/json");
    assert_eq!(notice.delivery, format!("{case_no}/fire_check/cancelled"));
    let body = notice.json();
    assert_eq!(body["event"], "task.cancelled");
    assert_eq!(body["case_no"], json!(case_no));
    assert_eq!(body["task"], "fire_check");
    assert_eq!(body["reason"], "申请人不再需要");
    let case = engine.case(&case_no).await.unwrap();
    assert_eq!(
        case.task("fire_check").unwrap().status,
        UnitStatus::Withdrawn
    );
}

#[tokio::test]
async fn cancellation_stops_a_delivery_still_retrying() {
    let (url, office) = back_office(vec![], Reply::Status(503, "down for maintenance")).await;
    let webhook = Webhook::new(config(&url, 2000 * MS, 8, (150 * MS, 150 * MS))).unwrap();
    let (engine, case_no) = case_with(&webhook).await;
    office.wait_for("task.dispatched", 1).await;

    engine
        .withdraw(&case_no, Some(&["fire_check"]), "撤回")
        .await
        .unwrap();
    office.wait_for("task.cancelled", 1).await;
    let at_cancel = office.received("task.dispatched").len();
    assert_eq!(webhook.in_flight(), 0);
    tokio::time::sleep(500 * MS).await;
    assert_eq!(office.received("task.dispatched").len(), at_cancel);
    assert!(at_cancel <= 2, "{at_cancel}");
}

#[tokio::test]
async fn signatures_catch_wrong_secrets_tampering_and_replays() {
    let (url, office) = back_office(vec![], Reply::Status(202, "")).await;
    let webhook = Webhook::new(config(&url, 2000 * MS, 3, (10 * MS, 200 * MS))).unwrap();
    let (_engine, _case_no) = case_with(&webhook).await;
    let got = office.wait_for("task.dispatched", 1).await;
    let r = &got[0];
    assert_eq!(r.verified, Ok(()));
    assert!(
        r.signature.starts_with("sha256=") && r.signature.len() == 7 + 64,
        "{}",
        r.signature
    );
    let sent: u64 = r.timestamp.parse().unwrap();
    let now = SystemTime::now();
    let unix_now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        unix_now.abs_diff(sent) <= 5,
        "timestamp {sent} vs now {unix_now}"
    );

    let check = |secret: &[u8], body: &[u8], now: SystemTime| {
        verify_signature(
            secret,
            &r.timestamp,
            &r.signature,
            body,
            now,
            DEFAULT_TOLERANCE,
        )
    };
    assert_eq!(
        check(b"not-the-secret", &r.body, now),
        Err(SignatureError::Mismatch)
    );
    let mut tampered = r.body.to_vec();
    tampered.extend_from_slice(b" ");
    assert_eq!(check(SECRET, &tampered, now), Err(SignatureError::Mismatch));
    // The same request replayed ten minutes later is refused.
    assert!(matches!(
        check(SECRET, &r.body, now + Duration::from_secs(600)),
        Err(SignatureError::Stale {
            tolerance_secs: 300,
            ..
        })
    ));
    // A timestamp moved forward to look fresh no longer matches the signature.
    let moved = (sent + 600).to_string();
    assert_eq!(
        verify_signature(
            SECRET,
            &moved,
            &r.signature,
            &r.body,
            now + Duration::from_secs(600),
            DEFAULT_TOLERANCE
        ),
        Err(SignatureError::Mismatch)
    );
}
