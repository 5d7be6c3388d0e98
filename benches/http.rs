//! bundle-5 end to end over HTTP: `yijian serve`'s app on a SQLite file, on loopback.
//!
//! Run with: `cargo bench --bench http` (options: `-- --cases 5000 --window 100 --chain 1000
//! --batched-only`)
//!
//! - **throughput**: submit → 5 parallel department tasks (a..e) → join → end. A window
//!   client keeps about `--window` cases in flight; 5 worker clients, one per department,
//!   fetch in batches (`max: 50`, long polling) and complete every task they get with
//!   `{"licence_no": "X"}` while fetching again: first each task in a request of its own,
//!   then each fetched batch in one `POST /v1/departments/{id}/tasks/complete`. Prints
//!   cases/s of both over `--cases` cases, and their ratio.
//! - **latency**: a 2-step bundle (a → b). From the moment worker a sends its completion
//!   to the moment worker b's long poll returns the dependant task: p50 / p99 over
//!   `--chain` cases, 10 in flight.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Semaphore;
use yijian::engine::Engine;
use yijian::serve::{AppState, DevTokens, Limits, serve};
use yijian_store_sql::SqlStore;

// The same allocator as the `yijian` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BUNDLE5: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/data/bundle-5.yaml"
));

const CHAIN: &str = r#"
yijian: 1
id: chain-2
version: 1
title: chain-2
time_limit: 5wd
tasks:
  a: {title: A, department: a, output: {licence_no: string}}
  b: {title: B, department: b, after: [a], output: {licence_no: string}}
"#;

const DEPARTMENTS: [&str; 5] = ["a", "b", "c", "d", "e"];

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn enc(id: &str) -> String {
    id.replace('[', "%5B").replace(']', "%5D")
}

/// The server and its clients' shared pieces.
struct Bench {
    base: String,
    http: reqwest::Client,
    tokens: DevTokens,
}

impl Bench {
    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        loop {
            let res = self
                .http
                .post(format!("{}{path}", self.base))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("sent");
            let status = res.status();
            let v: Value = res.json().await.unwrap_or(Value::Null);
            if status.as_u16() == 503 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            assert!(status.is_success(), "{path}: {status} {v}");
            return v;
        }
    }

    async fn fetch(&self, dep: &str) -> Vec<Value> {
        let token = &self.tokens.departments[dep];
        let v = self
            .post(
                &format!("/v1/departments/{dep}/tasks/fetch"),
                token,
                json!({"max": 50, "lease": "5m", "wait": "1s", "worker": dep}),
            )
            .await;
        v["tasks"].as_array().cloned().unwrap_or_default()
    }

    async fn complete(&self, dep: &str, t: &Value) {
        let id = enc(t["task_id"].as_str().expect("task_id"));
        self.post(
            &format!("/v1/tasks/{id}/complete"),
            &self.tokens.departments[dep],
            json!({"lease_token": t["lease_token"], "decision": "approved", "output": {"licence_no": "X"}}),
        )
        .await;
    }

    /// Completes every task of a fetched batch in one request.
    async fn complete_all(&self, dep: &str, tasks: &[Value]) {
        let completions: Vec<Value> = tasks
            .iter()
            .map(|t| {
                json!({"task_id": t["task_id"], "lease_token": t["lease_token"],
                       "decision": "approved", "output": {"licence_no": "X"}})
            })
            .collect();
        let v = self
            .post(
                &format!("/v1/departments/{dep}/tasks/complete"),
                &self.tokens.departments[dep],
                json!({ "completions": completions }),
            )
            .await;
        for r in v["results"].as_array().into_iter().flatten() {
            assert_eq!(r["status"], 200, "{r}");
        }
    }

    async fn submit(&self, bundle: &str) -> String {
        let v = self
            .post(
                "/v1/cases",
                &self.tokens.window,
                json!({"bundle": bundle, "form": {}}),
            )
            .await;
        v["case_no"].as_str().expect("case_no").to_owned()
    }
}

async fn start() -> (Arc<Bench>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let store = SqlStore::connect(&url).await.expect("sqlite");
    let engine = Engine::builder(store).build().await.expect("engine");
    engine.deploy(BUNDLE5).await.expect("bundle-5");
    engine.deploy(CHAIN).await.expect("chain-2");
    let tokens = DevTokens::generate(DEPARTMENTS).expect("tokens");
    let limits = Limits {
        max_in_flight: 8192,
        max_waiters: 1024,
        ..Limits::default()
    };
    let state = AppState::builder(engine)
        .tokens(tokens.tokens())
        .limits(limits)
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(serve(listener, state, std::future::pending()));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .expect("client");
    (Arc::new(Bench { base, http, tokens }), dir)
}

/// Counts a completed task; the case's fifth closes it and opens room for another.
struct Tally {
    cases: usize,
    room: Arc<Semaphore>,
    done: AtomicUsize,
    progress: Mutex<HashMap<String, u8>>,
    finished: tokio::sync::Notify,
}

impl Tally {
    fn task_done(&self, t: &Value) {
        let case_no = t["case_no"].as_str().unwrap_or_default().to_owned();
        let closed = {
            let mut p = self.progress.lock().expect("progress");
            let n = p.entry(case_no.clone()).or_default();
            *n += 1;
            let closed = *n == 5;
            if closed {
                p.remove(&case_no);
            }
            closed
        };
        if closed {
            self.room.add_permits(1);
            if self.done.fetch_add(1, Ordering::AcqRel) + 1 == self.cases {
                self.finished.notify_one();
            }
        }
    }
}

/// bundle-5 cases/s. `batched`: each fetched batch is completed in one request
/// (`POST /v1/departments/{id}/tasks/complete`); otherwise one request per task.
async fn throughput(bench: Arc<Bench>, cases: usize, window: usize, batched: bool) -> f64 {
    let room = Arc::new(Semaphore::new(window));
    let tally = Arc::new(Tally {
        cases,
        room: room.clone(),
        done: AtomicUsize::new(0),
        progress: Mutex::default(),
        finished: tokio::sync::Notify::new(),
    });
    let start = Instant::now();
    for dep in DEPARTMENTS {
        let (bench, tally) = (bench.clone(), tally.clone());
        // A worker: fetches in batches, hands the batch (or each task) to a completion
        // request of its own, and fetches again at once.
        tokio::spawn(async move {
            while tally.done.load(Ordering::Acquire) < cases {
                let tasks = bench.fetch(dep).await;
                if tasks.is_empty() {
                    continue;
                }
                if batched {
                    let (bench, tally) = (bench.clone(), tally.clone());
                    tokio::spawn(async move {
                        bench.complete_all(dep, &tasks).await;
                        for t in &tasks {
                            tally.task_done(t);
                        }
                    });
                    continue;
                }
                for t in tasks {
                    let (bench, tally) = (bench.clone(), tally.clone());
                    tokio::spawn(async move {
                        bench.complete(dep, &t).await;
                        tally.task_done(&t);
                    });
                }
            }
        });
    }
    let submitted = Arc::new(AtomicUsize::new(0));
    for _ in 0..window {
        let (bench, room, submitted) = (bench.clone(), room.clone(), submitted.clone());
        tokio::spawn(async move {
            loop {
                room.acquire().await.expect("open").forget();
                if submitted.fetch_add(1, Ordering::AcqRel) >= cases {
                    return;
                }
                bench.submit("bundle-5").await;
            }
        });
    }
    let waited = tally.finished.notified();
    if tally.done.load(Ordering::Acquire) < cases {
        waited.await;
    }
    cases as f64 / start.elapsed().as_secs_f64()
}

async fn latency(bench: Arc<Bench>, cases: usize) -> Vec<Duration> {
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let samples: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let room = Arc::new(Semaphore::new(10));
    // Worker b: long polls; measures when each dependant becomes fetchable.
    let b = {
        let (bench, sent, samples, room) =
            (bench.clone(), sent.clone(), samples.clone(), room.clone());
        tokio::spawn(async move {
            while samples.lock().expect("samples").len() < cases {
                let tasks = bench.fetch("b").await;
                let now = Instant::now();
                for t in &tasks {
                    let case_no = t["case_no"].as_str().unwrap_or_default();
                    if let Some(t0) = sent.lock().expect("sent").remove(case_no) {
                        samples.lock().expect("samples").push(now - t0);
                    }
                }
                for t in tasks {
                    let (bench, room) = (bench.clone(), room.clone());
                    tokio::spawn(async move {
                        bench.complete("b", &t).await;
                        room.add_permits(1);
                    });
                }
            }
        })
    };
    // Worker a.
    let a = {
        let (bench, sent, samples) = (bench.clone(), sent.clone(), samples.clone());
        tokio::spawn(async move {
            while samples.lock().expect("samples").len() < cases {
                for t in bench.fetch("a").await {
                    let case_no = t["case_no"].as_str().unwrap_or_default().to_owned();
                    sent.lock().expect("sent").insert(case_no, Instant::now());
                    bench.complete("a", &t).await;
                }
            }
        })
    };
    for _ in 0..cases {
        room.acquire().await.expect("open").forget();
        bench.submit("chain-2").await;
    }
    let _ = b.await;
    a.abort();
    let mut s = samples.lock().expect("samples").clone();
    s.sort();
    s
}

fn pct(s: &[Duration], p: f64) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let i = ((s.len() as f64 - 1.0) * p).round() as usize;
    s[i].as_secs_f64() * 1000.0
}

fn main() {
    let cases = arg("--cases", 5000);
    let window = arg("--window", 100);
    let chain = arg("--chain", 1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (bench, _dir) = start().await;
        // Warm up: connections, caches, the SQLite file.
        throughput(bench.clone(), 200.min(cases), window, true).await;
        // Let the warm-up's workers see they are done (their long polls last 1s).
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let single = if std::env::args().any(|a| a == "--batched-only") {
            f64::NAN
        } else {
            let r = throughput(bench.clone(), cases, window, false).await;
            println!("http bundle-5: {cases} cases, {window} in flight, 5 workers (fetch 50, one completion per request): {r:.0} cases/s");
            tokio::time::sleep(Duration::from_millis(1500)).await;
            r
        };
        let batched = throughput(bench.clone(), cases, window, true).await;
        println!("http bundle-5: {cases} cases, {window} in flight, 5 workers (fetch 50, batch completion): {batched:.0} cases/s ({:.2}x)", batched / single);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let s = latency(bench, chain).await;
        println!(
            "http chain-2: completion → dependant fetchable over {} cases: p50 {:.2} ms, p99 {:.2} ms",
            s.len(),
            pct(&s, 0.50),
            pct(&s, 0.99)
        );
    });
}
