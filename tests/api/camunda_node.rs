//! The published Camunda JavaScript client (`camunda-external-task-client-js`, unchanged,
//! from npm) drives a 开办餐饮店 case through `/engine-rest` with basic auth: typed
//! variables, a lock extension, a 补正 by `handleBpmnError` answered at the window, a failure
//! retried; the case completes.
//!
//! The client is installed by `.ci/run` (`npm ci` of tests/camunda/node into
//! `target/node-camunda`, named in `YIJIAN_CAMUNDA_NODE`); without it the test says so and
//! skips.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::camunda_python::submit;
use super::server::Server;

/// The folder holding the client's `node_modules`, or `None` (skip).
fn modules() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("YIJIAN_CAMUNDA_NODE") {
        let dir = PathBuf::from(&p);
        assert!(
            dir.join("node_modules/camunda-external-task-client-js")
                .exists(),
            "YIJIAN_CAMUNDA_NODE names {p}, which holds no camunda-external-task-client-js"
        );
        return Some(dir);
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/node-camunda");
    local
        .join("node_modules/camunda-external-task-client-js")
        .exists()
        .then_some(local)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_published_javascript_client_completes_a_case() {
    let Some(dir) = modules() else {
        println!(
            "no Camunda JavaScript client (npm ci tests/camunda/node into target/node-camunda, \
             or set YIJIAN_CAMUNDA_NODE, as .ci/run does); skipping"
        );
        return;
    };
    // The script runs beside the client's node_modules (ES modules resolve from the file).
    let script = dir.join("worker.mjs");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/camunda/node/worker.mjs"),
        &script,
    )
    .expect("copy the worker");
    let server = Server::start().await;
    let case_no = submit(&server, "camunda-node-1").await;
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
        case_no.clone(),
        Value::Object(tokens).to_string(),
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .current_dir(dir)
            .env("YIJIAN_BASE", base)
            .env("YIJIAN_CASE", case)
            .env("YIJIAN_TOKENS", tokens)
            .output()
    })
    .await
    .expect("joined")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Camunda workers failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("camunda node workers: done"),
        "{stdout}\n{stderr}"
    );
    let start = Instant::now();
    let case = loop {
        let c = server.case(&case_no).await;
        if c["result"]["closed_at"].is_string() {
            break c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never closed: {c}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(case["result"]["outcome"], "completed", "{case}");
    let docs = &case["result"]["documents"];
    assert_eq!(docs["食品经营许可证"], "JY13201060000002", "{case}");
    assert_eq!(docs["户外招牌设置许可"], "ZP-2026-0002", "{case}");
    assert_eq!(docs["烟草专卖零售许可证"], "YC-320106-0002", "{case}");
    let events = server.events(&case_no).await.to_string();
    assert!(events.contains("专卖管理系统维护中"), "{events}");
    assert!(events.contains("效果图未标注尺寸"), "{events}");
    server.stop().await;
}
