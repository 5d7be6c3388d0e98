//! SIGKILL with a webhook receiver counting deliveries: `yijian serve` on a SQLite file with
//! the market department bound to a local back office (signed `http` webhook, answering
//! "approved" at once), killed with SIGKILL 8 times (`YIJIAN_WEBHOOK_KILLS` for more) while
//! cases are submitted, restarted each time. At the end every acknowledged case completed
//! with its food permit approved exactly once; every approval had a delivery, and
//! deliveries repeated after a kill (at least once, same `X-Yijian-Delivery`) applied
//! nothing twice; the audit chains verify.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use reqwest::StatusCode;
use serde_json::{Value, json};
use yijian::engine::EventKind;
use yijian::engine::ids::CaseNo;
use yijian::engine::store::EventLog;
use yijian_adapters::webhook::DELIVERY_HEADER;
use yijian_store_sql::SqlStore;

fn kills() -> usize {
    std::env::var("YIJIAN_WEBHOOK_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(8)
}

/// Deliveries by idempotency key.
type Seen = Arc<Mutex<HashMap<String, usize>>>;

/// A back office that counts each delivery and approves at once.
async fn back_office(seen: Seen) -> String {
    let app = axum::Router::new().route(
        "/tasks",
        axum::routing::post(move |headers: HeaderMap, _body: Bytes| {
            let seen = seen.clone();
            async move {
                let key = headers
                    .get(DELIVERY_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                *seen
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .entry(key)
                    .or_default() += 1;
                let licence = json!({"name": "许可证.pdf", "uri": "https://files.example.invalid/p.pdf", "sha256": "c".repeat(64)});
                axum::Json(json!({"decision": "approved",
                                  "output": {"permit_no": "JY1", "food_permit_pdf": licence}}))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_a_webhook_back_office_nothing_is_lost_or_applied_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("yijian.db").display()
    );
    let seen: Seen = Arc::default();
    let url = back_office(seen.clone()).await;
    let config = dir.path().join("yijian.yaml");
    std::fs::write(
        &config,
        format!(
            "departments:\n  market:\n    adapter: http\n    url: {url}\n    secret_env: YJ_KILL_SECRET\n    timeout: 2s\n"
        ),
    )
    .expect("config");
    let config = config.to_str().expect("utf-8").to_owned();
    let args = ["--config", config.as_str()];
    let envs = [("YJ_KILL_SECRET", "kill-test-secret")];
    let start = || crate::process::serve_with(dir.path(), &db, &args, &envs);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut acknowledged: HashMap<String, String> = HashMap::new();
    let mut next = 0_usize;
    let mut rng = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    println!("webhook kill test seed {rng}");
    for _ in 0..kills() {
        let node = start().await;
        let window = crate::process::tokens(dir.path())["window"]
            .as_str()
            .expect("window")
            .to_owned();
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let run_for = Duration::from_millis(200 + (rng >> 33) % 800);
        let began = Instant::now();
        while began.elapsed() < run_for {
            let app = crate::process::application("hook", next);
            if let Some((StatusCode::CREATED, _, v)) =
                crate::process::submit(&http, &node.base, &window, &app).await
            {
                acknowledged.insert(
                    format!("hook-{next}"),
                    v["case_no"].as_str().unwrap_or_default().to_owned(),
                );
            }
            next += 1;
        }
        drop(node); // SIGKILL, mid-flight or not
    }
    // A last run hands the pushed units that got no answer to the back office again.
    let node = start().await;
    let supervisor = crate::process::tokens(dir.path())["supervisor"]
        .as_str()
        .expect("supervisor")
        .to_owned();
    assert!(!acknowledged.is_empty(), "cases were acknowledged");
    let began = Instant::now();
    for (key, no) in &acknowledged {
        loop {
            let r = http
                .get(format!("{}/v1/cases/{no}", node.base))
                .bearer_auth(&supervisor)
                .send()
                .await
                .expect("sent");
            assert_eq!(
                r.status(),
                StatusCode::OK,
                "acknowledged {key} ({no}) is stored"
            );
            let v: Value = r.json().await.expect("json");
            if v["status"] == "completed" {
                break;
            }
            assert!(
                began.elapsed() < Duration::from_secs(120),
                "{no} did not complete: {v:#}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let store = SqlStore::connect(&db).await.expect("store");
    let deliveries = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut repeated = 0;
    for no in acknowledged.values() {
        let (_, events) = store
            .read(&CaseNo::new(no.as_str()))
            .await
            .expect("read")
            .expect("case");
        let approvals = events
            .iter()
            .filter(|e| {
                matches!(e.kind, EventKind::TaskApproved { .. })
                    && e.actor.to_string() == "department:market"
            })
            .count();
        assert_eq!(
            approvals, 1,
            "case {no}: the food permit approved exactly once"
        );
        let mine: Vec<usize> = deliveries
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{no}/")))
            .map(|(_, n)| *n)
            .collect();
        assert!(
            !mine.is_empty(),
            "case {no} was approved without a delivery"
        );
        repeated += mine.iter().map(|n| n - 1).sum::<usize>();
    }
    println!(
        "{} kills, {} cases acknowledged, {} deliveries, {repeated} repeated",
        kills(),
        acknowledged.len(),
        deliveries.values().sum::<usize>()
    );
    crate::process::assert_kept(
        &http,
        &node.base,
        &supervisor,
        &acknowledged.values().cloned().collect::<Vec<_>>(),
        &db,
    )
    .await;
}
