//! The published Camunda Python client (`camunda-external-task-client-python3`, unchanged,
//! from PyPI) drives a 开办餐饮店 case through `/engine-rest` — long polling, typed
//! variables, a lock extension, a foreign worker refused, a 补正 answered at the window, a
//! failure retried, a refusal — and the case ends as the same decisions made through `/v1`
//! end it.
//!
//! The client lives in a virtual environment that `.ci/run` makes (`target/venv-camunda`,
//! pinned in tests/camunda/requirements.txt) and names in `YIJIAN_CAMUNDA_PYTHON`; without
//! one the test says so and skips, as the PostgreSQL tests do without `DATABASE_URL`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::server::{Server, enc, restaurant};

/// A 开办餐饮店 application of 200 m² (no fire check), with an outdoor sign, tobacco and
/// one partner.
pub(super) fn small_restaurant(key: &str) -> Value {
    let mut app = restaurant(key);
    app["form"]["floor_area"] = json!(200);
    if let Some(m) = app["materials"].as_object_mut() {
        m.remove("fire_commitment");
        m.remove("fire_layout");
    }
    app
}

/// Submits the application; returns the case number.
pub(super) async fn submit(server: &Server, key: &str) -> String {
    let (s, v) = server
        .post("/v1/cases", &server.tokens.window, small_restaurant(key))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["case_no"].as_str().expect("case_no").to_owned()
}

/// The Python of the client's virtual environment, or `None` (skip) when there is none.
fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("YIJIAN_CAMUNDA_PYTHON") {
        assert!(
            Path::new(&p).exists(),
            "YIJIAN_CAMUNDA_PYTHON names {p}, which does not exist"
        );
        return Some(PathBuf::from(p));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv-camunda/bin/python");
    local.exists().then_some(local)
}

/// Runs a worker script (`program script`, in `dir` when given) against the server for
/// the case, with the departments' and the window's tokens; asserts that it succeeded and
/// printed `done`.
pub(super) async fn run_workers(
    server: &Server,
    case_no: &str,
    program: PathBuf,
    script: PathBuf,
    dir: Option<PathBuf>,
    done: &str,
) {
    let mut tokens = serde_json::Map::new();
    for dep in ["market", "urban", "tobacco"] {
        tokens.insert(dep.to_owned(), Value::String(server.dept(dep)));
    }
    tokens.insert(
        "window".to_owned(),
        Value::String(server.tokens.window.clone()),
    );
    let (base, case, tokens) = (
        server.base.clone(),
        case_no.to_owned(),
        Value::Object(tokens).to_string(),
    );
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(program);
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        cmd.arg(script)
            .env("YIJIAN_BASE", base)
            .env("YIJIAN_CASE", case)
            .env("YIJIAN_TOKENS", tokens)
            .output()
    })
    .await
    .expect("joined")
    .expect("the worker runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Camunda workers failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains(done), "{stdout}\n{stderr}");
}

/// Waits until the case is closed.
pub(super) async fn closed(server: &Server, case_no: &str) -> Value {
    let start = Instant::now();
    loop {
        let c = server.case(case_no).await;
        if c["result"]["closed_at"].is_string() {
            return c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "case never closed: {c}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What two runs must agree on: the outcome, each task's status, the documents.
fn essence(case: &Value) -> Value {
    let tasks: Vec<Value> = case["tasks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| json!([t["name"], t["status"], t["output"]]))
                .collect()
        })
        .unwrap_or_default();
    json!({"outcome": case["result"]["outcome"], "status": case["status"], "tasks": tasks,
           "documents": case["result"]["documents"]})
}

/// The same decisions through `/v1`: 补正 then approval, a failure then approval, a
/// refusal.
async fn native(server: &Server, case_no: &str) {
    let lease_of = |dep: &'static str| async move {
        let start = Instant::now();
        loop {
            let got = server.fetch(dep, 1, "1s").await;
            if let Some(t) = got.into_iter().find(|t| t["case_no"] == case_no) {
                return t;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "nothing for {dep}"
            );
        }
    };
    let decide = |t: Value, dep: &'static str, body: Value| async move {
        let id = enc(t["task_id"].as_str().expect("task_id"));
        let mut body = body;
        body["lease_token"] = t["lease_token"].clone();
        let (s, v) = server
            .post(&format!("/v1/tasks/{id}/complete"), &server.dept(dep), body)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    };
    let t = lease_of("market").await;
    decide(
        t,
        "market",
        json!({"decision": "supplement",
        "missing": [{"material": "floor_plan", "reason": "平面图未标注操作间面积"}]}),
    )
    .await;
    let (s, v) = server
        .post(
            &format!("/v1/cases/{case_no}/supplements"),
            &server.tokens.window,
            json!({"materials": {"floor_plan": {"name": "平面图-修订.pdf"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let t = lease_of("market").await;
    let licence = json!({"name": "食品经营许可证.pdf", "uri": "https://files.example.invalid/jy.pdf",
                         "sha256": "a".repeat(64)});
    decide(
        t,
        "market",
        json!({"decision": "approved",
        "output": {"permit_no": "JY13201060000001", "food_permit_pdf": licence}}),
    )
    .await;
    let t = lease_of("urban").await;
    let id = enc(t["task_id"].as_str().expect("task_id"));
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/fail"),
            &server.dept("urban"),
            json!({"lease_token": t["lease_token"], "error": "审批系统网关超时",
                   "retry_in": "1s", "retries": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let t = lease_of("urban").await;
    decide(
        t,
        "urban",
        json!({"decision": "approved", "output": {"signboard_no": "ZP-2026-0001"}}),
    )
    .await;
    let t = lease_of("tobacco").await;
    decide(
        t,
        "tobacco",
        json!({"decision": "rejected",
        "reason": "经营场所距中小学校不足50米,不符合烟草零售点布局规定"}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_published_python_client_drives_a_case_to_the_outcome_the_native_api_gives() {
    let Some(python) = python() else {
        println!(
            "no Camunda Python client (make target/venv-camunda or set YIJIAN_CAMUNDA_PYTHON, \
             as .ci/run does); skipping"
        );
        return;
    };
    let server = Server::start().await;
    let by_camunda = submit(&server, "camunda-py-1").await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/camunda/worker.py");
    run_workers(
        &server,
        &by_camunda,
        python,
        script,
        None,
        "camunda workers: done",
    )
    .await;
    let camunda = closed(&server, &by_camunda).await;
    assert_eq!(
        camunda["result"]["outcome"], "partially_completed",
        "{camunda}"
    );

    let by_v1 = submit(&server, "camunda-py-native").await;
    native(&server, &by_v1).await;
    let v1 = closed(&server, &by_v1).await;
    assert_eq!(
        essence(&camunda),
        essence(&v1),
        "both dialects end the case alike"
    );

    // The audit names the departments, as for /v1, and the worker that failed.
    let events = server.events(&by_camunda).await;
    let text = events.to_string();
    assert!(text.contains("审批系统网关超时"), "{text}");
    assert!(
        text.contains("market-worker-1"),
        "the lease names the worker: {text}"
    );
    server.stop().await;
}
