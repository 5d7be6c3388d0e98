//! An independent API fuzzer against the served OpenAPI document: schemathesis (from PyPI)
//! runs against a real `yijian serve` process on a temporary SQLite file, once with each of
//! a window, a department and an admin token, checking `not_a_server_error`,
//! `status_code_conformance`, `response_schema_conformance` and
//! `content_type_conformance` over its example, coverage, fuzzing and stateful phases.
//!
//! `.ci/run` installs schemathesis (pinned in tests/schemathesis/requirements.txt) into
//! `target/venv-schemathesis` and names it in `YIJIAN_SCHEMATHESIS`; without it the test
//! says so and skips.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The schemathesis command, or `None` (skip).
fn schemathesis() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("YIJIAN_SCHEMATHESIS") {
        assert!(
            Path::new(&p).exists(),
            "YIJIAN_SCHEMATHESIS names {p}, which does not exist"
        );
        return Some(PathBuf::from(p));
    }
    let local =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv-schemathesis/bin/schemathesis");
    local.exists().then_some(local)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_against_the_served_openapi() {
    let Some(st) = schemathesis() else {
        println!("no schemathesis (see .ci/run); skipping");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("yijian.db").display()
    );
    let node = crate::process::serve(dir.path(), &db).await;
    let base = node.base.clone();
    let t = crate::process::tokens(dir.path());
    let mut failures = Vec::new();
    for (role, token) in [
        ("window", t["window"].as_str()),
        ("department:market", t["departments"]["market"].as_str()),
        ("admin", t["admin"].as_str()),
    ] {
        let token = token.expect("a development token");
        let mut cmd = Command::new(&st);
        cmd.args(["run", &format!("{base}/v1/openapi.json")])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance",
                "--max-examples",
                "25",
                "--seed",
                "20261207",
                "--no-color",
            ])
            .env("SCHEMATHESIS_HOOKS", "");
        // The fuzzer runs for a while: off the runtime's threads.
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("joined")
            .expect("schemathesis runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let summary: Vec<&str> = text.lines().filter(|l| l.contains("generated")).collect();
        println!("{role}: {}", summary.join(" "));
        if !out.status.success() {
            failures.push(format!(
                "{role}:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    drop(node);
    assert!(
        failures.is_empty(),
        "schemathesis found problems:\n{}",
        failures.join("\n")
    );
}
