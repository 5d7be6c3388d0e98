//! Departments bound to webhooks: tasks pushed to a local back office (signed), answered
//! later through the completion endpoint without a lease token; region bindings mixing
//! `http` and `queue` (the longest 区划代码 prefix wins).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use yijian::serve::config::{AdapterKind, Binding};
use yijian_adapters::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature};

use super::server::{Server, enc, output_for, restaurant, status_of};

const SECRET: &str = "push-test-secret";

/// A back office that records every signed delivery and answers 202 (decides later).
#[derive(Clone, Default)]
struct BackOffice {
    deliveries: Arc<Mutex<Vec<Value>>>,
}

impl BackOffice {
    async fn start(&self) -> String {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/tasks",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let me = me.clone();
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let checked = verify_signature(
                        SECRET.as_bytes(),
                        &header(TIMESTAMP_HEADER),
                        &header(SIGNATURE_HEADER),
                        &body,
                        SystemTime::now(),
                        Duration::from_secs(300),
                    );
                    if checked.is_err() {
                        return AxumStatus::UNAUTHORIZED;
                    }
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    me.deliveries.lock().await.push(v);
                    AxumStatus::ACCEPTED
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/tasks", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    /// Waits for a delivery of `task` in `case_no`.
    async fn delivery(&self, case_no: &str, task: &str) -> Value {
        let start = Instant::now();
        loop {
            let found = self
                .deliveries
                .lock()
                .await
                .iter()
                .find(|d| d["case_no"] == case_no && d["task"] == task)
                .cloned();
            if let Some(d) = found {
                return d;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no delivery of {task} for {case_no}; got {:?}",
                self.deliveries.lock().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn delivered(&self, task: &str) -> usize {
        self.deliveries
            .lock()
            .await
            .iter()
            .filter(|d| d["task"] == task)
            .count()
    }
}

fn http(url: &str, secret_file: &std::path::Path) -> Binding {
    Binding {
        adapter: AdapterKind::Http,
        url: Some(url.to_owned()),
        secret_file: Some(secret_file.to_owned()),
        ..Binding::default()
    }
}

fn queue() -> Binding {
    Binding::default()
}

async fn submit(server: &Server, key: &str, region: &str) -> String {
    let mut body = restaurant(key);
    body["region"] = json!(region);
    let (s, v) = server.post("/v1/cases", &server.tokens.window, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["case_no"].as_str().expect("case_no").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_tasks_are_answered_without_a_lease_and_regions_mix_queue_and_http() {
    let office = BackOffice::default();
    let url = office.start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let secret_file = dir.path().join("hmac.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).expect("secret file");
    // tobacco: every region pushed. urban: the queue, except 鼓楼区 (320106) which pushes.
    let server = Server::start_in(dir, |c| {
        c.departments
            .insert("tobacco".to_owned(), http(&url, &secret_file));
        let mut urban = queue();
        urban
            .regions
            .insert("320106".to_owned(), http(&url, &secret_file));
        c.departments.insert("urban".to_owned(), urban);
    })
    .await;

    let gulou = submit(&server, "push-1", "320106").await;
    let xuanwu = submit(&server, "push-2", "320102").await;

    // Pushed, signed (the back office checked the signature before recording it).
    let pushed = office.delivery(&gulou, "tobacco").await;
    assert_eq!(pushed["department"], "tobacco", "{pushed}");
    let signboard = office.delivery(&gulou, "signboard").await;
    office.delivery(&xuanwu, "tobacco").await;
    // 玄武区's urban task is queue-bound: it is fetched, never pushed.
    let fetched = server.fetch("urban", 10, "5s").await;
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    assert_eq!(fetched[0]["case_no"], xuanwu.as_str());
    assert_eq!(office.delivered("signboard").await, 1);

    // The tobacco back office accepts and decides later, without a lease token.
    let tobacco = server.dept("tobacco");
    let id = enc(pushed["task_id"].as_str().expect("task_id"));
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/accept"),
            &tobacco,
            json!({"receipt_no": "YC-R-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "accepted");
    let done = json!({"decision": "approved", "output": output_for("tobacco")});
    let (s, first) = server
        .post(&format!("/v1/tasks/{id}/complete"), &tobacco, done.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["status"], "approved");
    let events = server.events(&gulou).await;
    let (s, again) = server
        .post(&format!("/v1/tasks/{id}/complete"), &tobacco, done)
        .await;
    assert_eq!(
        (s, &again),
        (StatusCode::OK, &first),
        "a repeat, same answer"
    );
    assert_eq!(
        server.events(&gulou).await,
        events,
        "the repeat changed nothing"
    );
    assert_eq!(status_of(&server.case(&gulou).await, "tobacco"), "approved");

    // The urban signboard task of 鼓楼区 was pushed: answered at once without accept.
    let id = enc(signboard["task_id"].as_str().expect("task_id"));
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/complete"),
            &server.dept("urban"),
            json!({"decision": "approved", "output": output_for("signboard")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // A tokenless call on a task a worker holds the lease of is fenced off: 409, nothing
    // changes; the worker's own call goes through.
    let leased = &fetched[0];
    let id = enc(leased["task_id"].as_str().expect("task_id"));
    let events = server.events(&xuanwu).await;
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/complete"),
            &server.dept("urban"),
            json!({"decision": "rejected", "reason": "招牌过大"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "stale_lease", "{v}");
    assert_eq!(server.events(&xuanwu).await, events);
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/complete"),
            &server.dept("urban"),
            json!({"lease_token": leased["lease_token"], "decision": "approved",
                   "output": output_for("signboard")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A heartbeat always needs a lease.
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/heartbeat"),
            &server.dept("urban"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // /metrics: each webhook binding's attempts, latency and failed deliveries.
    let (_, metrics) = server
        .call(reqwest::Method::GET, "/metrics", None, None)
        .await;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    for line in [
        "yijian_webhook_attempts_total{department=\"tobacco\",region=\"\",outcome=\"accepted\"} 2",
        "yijian_webhook_attempts_total{department=\"urban\",region=\"320106\",outcome=\"accepted\"} 1",
        "yijian_webhook_attempts_total{department=\"tobacco\",region=\"\",outcome=\"retried\"} 0",
        "yijian_webhook_attempt_seconds_count{department=\"tobacco\",region=\"\"} 2",
        "yijian_webhook_attempt_seconds_bucket{department=\"tobacco\",region=\"\",le=\"+Inf\"} 2",
        "yijian_webhook_failed_deliveries_total{department=\"tobacco\",region=\"\"} 0",
        "# TYPE yijian_webhook_attempt_seconds histogram",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_without_its_secret_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = yijian::serve::Config {
        database: format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("yijian.db").display()
        ),
        bundles: vec![super::server::catalog()],
        ..yijian::serve::Config::default()
    };
    let b = http(
        "http://127.0.0.1:9/tasks",
        &dir.path().join("missing.secret"),
    );
    config.departments.insert("fire".to_owned(), b);
    let store = yijian_store_sql::SqlStore::connect(&config.database)
        .await
        .expect("sqlite");
    let Err(err) = yijian::serve::prepare(store, &config, dir.path()).await else {
        panic!("a binding without its secret must stop the start");
    };
    let text = err.to_string();
    assert!(
        text.contains("fire") && text.contains("secret_file") && text.contains("missing.secret"),
        "{text}"
    );
}
