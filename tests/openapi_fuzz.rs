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
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

#[test]
fn schemathesis_finds_nothing_against_the_served_openapi() {
    let Some(st) = schemathesis() else {
        println!("no schemathesis (see .ci/run); skipping");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("definitions/catalog");
    let mut child = Command::new(env!("CARGO_BIN_EXE_yijian"))
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--bundles")
        .arg(&catalog)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn yijian serve");
    let base = format!("http://127.0.0.1:{port}");
    let tokens = dir.path().join("yijian-dev-tokens.json");
    let start = Instant::now();
    while !(tokens.exists() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "yijian serve did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tokens).expect("tokens")).expect("json");
    let mut failures = Vec::new();
    for (role, token) in [
        ("window", t["window"].as_str()),
        ("department:market", t["departments"]["market"].as_str()),
        ("admin", t["admin"].as_str()),
    ] {
        let token = token.expect("a development token");
        let out = Command::new(&st)
            .args(["run", &format!("{base}/v1/openapi.json")])
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
            .env("SCHEMATHESIS_HOOKS", "")
            .output()
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
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        failures.is_empty(),
        "schemathesis found problems:\n{}",
        failures.join("\n")
    );
}
