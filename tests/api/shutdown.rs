//! `yijian serve` as a process: SIGTERM lets requests in flight finish, answers long polls
//! at once, exits cleanly; the next start finds the accepted case and the lease.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::protection::Held;
use super::server::{catalog, enc, restaurant};

/// A `yijian serve` child in `dir` on a free loopback port.
struct Process {
    child: Child,
    base: String,
    tokens: Value,
}

impl Process {
    async fn start(dir: &Path) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let db = format!("sqlite://{}?mode=rwc", dir.join("yijian.db").display());
        let child = Command::new(env!("CARGO_BIN_EXE_yijian"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--db",
                &db,
            ])
            .arg("--bundles")
            .arg(catalog())
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn yijian serve");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let start = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{base}/readyz")).send().await
                && r.status() == StatusCode::OK
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "yijian serve did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let tokens = std::fs::read_to_string(dir.join("yijian-dev-tokens.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .expect("the development tokens file");
        Process {
            child,
            base,
            tokens,
        }
    }

    fn token(&self, role: &str) -> String {
        self.tokens[role].as_str().expect("token").to_owned()
    }

    fn dept(&self, id: &str) -> String {
        self.tokens["departments"][id]
            .as_str()
            .expect("token")
            .to_owned()
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let res = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("sent");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    async fn exit_code(mut self) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("yijian serve did not exit after SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_and_leases_survive_the_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = Process::start(dir.path()).await;
    let (s, first) = p
        .post("/v1/cases", &p.token("window"), restaurant("term-1"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, fetched) = p
        .post(
            "/v1/departments/market/tasks/fetch",
            &p.dept("market"),
            json!({"max": 1, "lease": "10m", "worker": "m1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{fetched}");
    let task = fetched["tasks"][0].clone();
    assert!(task["lease_token"].is_u64(), "{fetched}");

    // In flight when the signal comes: a long poll, and a submission whose body is half
    // sent.
    let poll = {
        let (base, token) = (p.base.clone(), p.dept("police"));
        tokio::spawn(async move {
            let started = Instant::now();
            let res = reqwest::Client::new()
                .post(format!("{base}/v1/departments/police/tasks/fetch"))
                .bearer_auth(token)
                .json(&json!({"max": 1, "wait": "50s"}))
                .send()
                .await
                .expect("sent");
            (res.status(), started.elapsed())
        })
    };
    let body = serde_json::to_vec(&restaurant("term-2")).expect("json");
    let held = Held::start(&p.base, "/v1/cases", &p.token("window"), &body).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, text) = held.finish().await;
    assert_eq!(status, 201, "the request in flight finishes: {text}");
    let (status, waited) = poll.await.expect("joined");
    assert_eq!(status, StatusCode::OK);
    assert!(
        waited < Duration::from_secs(40),
        "the long poll answered at shutdown, not after its 50 s wait ({waited:?})"
    );
    assert_eq!(p.exit_code().await, Some(0), "a clean exit");

    // The next start: both cases are there, and the lease still holds.
    let p = Process::start(dir.path()).await;
    let (s, again) = p
        .post("/v1/cases", &p.token("window"), restaurant("term-2"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    let res = reqwest::Client::new()
        .get(format!("{}/v1/cases", p.base))
        .bearer_auth(p.token("supervisor"))
        .send()
        .await
        .expect("sent");
    let found: Value = res.json().await.expect("json");
    assert_eq!(found["total"], 2, "{found}");
    let id = enc(task["task_id"].as_str().expect("task_id"));
    let (s, v) = p
        .post(
            &format!("/v1/tasks/{id}/accept"),
            &p.dept("market"),
            json!({"lease_token": task["lease_token"], "receipt_no": "SJ-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the lease survived the restart: {v}");
    p.terminate();
    assert_eq!(p.exit_code().await, Some(0));
}
