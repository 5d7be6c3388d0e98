//! `yijian backup` while `yijian serve` runs: the copy passes `audit verify`, and a server
//! started on it continues the open cases (a department fetches and decides a task that was
//! open when the copy was taken).

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::process::{serve, tokens};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_and_continues_the_open_cases() {
    let live = tempfile::tempdir().expect("temp dir");
    let db = format!(
        "sqlite://{}?mode=rwc",
        live.path().join("yijian.db").display()
    );
    let node = serve(live.path(), &db).await;
    let t = tokens(live.path());
    let http = reqwest::Client::new();
    let mut cases = Vec::new();
    for i in 0..5 {
        let app = crate::process::application("backup", i);
        let window = t["window"].as_str().unwrap_or_default();
        let (status, _, v) = crate::process::submit(&http, &node.base, window, &app)
            .await
            .expect("answered");
        assert_eq!(status, StatusCode::CREATED, "{v}");
        cases.push(v["case_no"].as_str().unwrap_or_default().to_owned());
    }
    let copy = live.path().join("backup.db");
    let out = Command::new(env!("CARGO_BIN_EXE_yijian"))
        .args(["backup", "--db", &db])
        .arg(&copy)
        .output()
        .expect("yijian backup runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = Command::new(env!("CARGO_BIN_EXE_yijian"))
        .args(["backup", "--db", &db])
        .arg(&copy)
        .output()
        .expect("yijian backup runs");
    assert!(
        !again.status.success(),
        "an existing file is not overwritten"
    );
    drop(node);

    // Restore: the copy alone, in a new folder.
    let restored = tempfile::tempdir().expect("temp dir");
    std::fs::copy(&copy, restored.path().join("yijian.db")).expect("restore the copy");
    std::fs::copy(
        live.path().join("yijian-dev-tokens.json"),
        restored.path().join("yijian-dev-tokens.json"),
    )
    .expect("the same tokens");
    let rdb = format!(
        "sqlite://{}?mode=rw",
        restored.path().join("yijian.db").display()
    );
    let verify = Command::new(env!("CARGO_BIN_EXE_yijian"))
        .args(["audit", "verify", "--db", &rdb])
        .output()
        .expect("audit verify runs");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let node = serve(restored.path(), &rdb).await;
    let market = t["departments"]["market"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = http
        .post(format!("{}/v1/departments/market/tasks/fetch", node.base))
        .bearer_auth(&market)
        .json(&json!({"max": 10, "wait": "5s"}))
        .send()
        .await
        .expect("sent");
    let fetched: Value = r.json().await.expect("json");
    let tasks = fetched["tasks"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        tasks.len(),
        cases.len(),
        "every open case's market task is in the restored queue: {fetched}"
    );
    for c in &cases {
        let r = http
            .get(format!("{}/v1/cases/{c}", node.base))
            .bearer_auth(t["supervisor"].as_str().unwrap_or_default())
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), StatusCode::OK, "case {c} is in the copy");
    }
}
