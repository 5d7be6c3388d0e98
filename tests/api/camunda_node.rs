//! The published Camunda JavaScript client (`camunda-external-task-client-js`, unchanged,
//! from npm) drives a 开办餐饮店 case through `/engine-rest` with basic auth: typed
//! variables, a lock extension, a 补正 by `handleBpmnError` answered at the window, a failure
//! retried; the case completes.
//!
//! The client is installed by `.ci/run` (`npm ci` of tests/camunda/node into
//! `target/node-camunda`, named in `YIJIAN_CAMUNDA_NODE`); without it the test says so and
//! skips.

use std::path::{Path, PathBuf};

use super::camunda_python::{closed, run_workers, submit};
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
    run_workers(
        &server,
        &case_no,
        PathBuf::from("node"),
        script,
        Some(dir),
        "camunda node workers: done",
    )
    .await;
    let case = closed(&server, &case_no).await;
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
