//! Three real `yijian serve` processes on one PostgreSQL database, killed with SIGKILL
//! mid-run: submitters and one worker per department spread over the live nodes round
//! robin, a webhook-bound department answered by its back office through any node, time
//! limits of seconds so that warnings fire during the run. Nothing acknowledged is lost or
//! doubled; every case reaches its outcome; each decision and each warning level applies
//! once per task; the audit chain verifies. Then the timer-only variant: cases whose
//! warnings fall due while the node that took them is dead get them from a survivor.
//!
//! Runs when `DATABASE_URL` is set (CI starts PostgreSQL), in a database of its own.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode as AxumStatus;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::api::server::enc;

const BUNDLE: &str = r#"
yijian: 1
id: failover
version: 1
title: 故障切换
time_limit: 1h
tasks:
  licence:
    title: 营业执照
    department: fo_market
    time_limit: 6s
    warn: 3s
    output: {licence_no: string}
  seal:
    title: 刻章
    department: fo_police
    after: [licence]
    time_limit: 6s
    warn: 3s
    output: {seal_no: string}
  tax:
    title: 税务登记
    department: fo_tax
    time_limit: 6s
    warn: 3s
    output: {tax_no: string}
"#;

/// Cases submitted in the main run.
const CASES: usize = 240;

/// One `yijian serve` process.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    async fn start(dir: &Path) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_yijian"))
            .args(["serve", "--config", "yijian.yaml", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
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
                "a node did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Node { child, base }
    }

    fn kill(&mut self) {
        // SIGKILL: no drain, no shutdown hook.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The live nodes' addresses, in turn.
#[derive(Clone, Default)]
struct Ring {
    bases: Arc<std::sync::Mutex<Vec<String>>>,
    next: Arc<AtomicUsize>,
}

impl Ring {
    fn pick(&self) -> String {
        let bases = self.bases.lock().unwrap_or_else(|e| e.into_inner());
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        bases[i % bases.len()].clone()
    }

    fn set(&self, bases: Vec<String>) {
        *self.bases.lock().unwrap_or_else(|e| e.into_inner()) = bases;
    }
}

/// One call to some live node, again on the next one when the connection fails (the node
/// died): `(status, body)` of the first node that answered.
async fn call(
    ring: &Ring,
    client: &reqwest::Client,
    path: &str,
    token: &str,
    body: &Value,
) -> (StatusCode, Value) {
    for _ in 0..200 {
        let base = ring.pick();
        match client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
        {
            Ok(r) => {
                let s = r.status();
                let v = r.json().await.unwrap_or(Value::Null);
                if s == StatusCode::SERVICE_UNAVAILABLE {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                return (s, v);
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    panic!("no node answered {path}");
}

fn output(task: &str, case_no: &str) -> Value {
    match task {
        "licence" => json!({"licence_no": format!("L-{case_no}")}),
        "seal" => json!({"seal_no": format!("S-{case_no}")}),
        _ => json!({"tax_no": format!("T-{case_no}")}),
    }
}

/// A department's worker: fetches from the live nodes in turn and approves each task, on
/// another node than the one that leased it. `pause` slows it (so warnings fall due).
async fn worker(
    ring: Ring,
    tokens: Value,
    department: &'static str,
    pause: Duration,
    stop: Arc<AtomicBool>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let token = tokens["departments"][department]
        .as_str()
        .expect("token")
        .to_owned();
    while !stop.load(Ordering::Relaxed) {
        let (s, v) = call(
            &ring,
            &client,
            &format!("/v1/departments/{department}/tasks/fetch"),
            &token,
            &json!({"max": 20, "lease": "4s", "wait": "1s", "worker": format!("{department}-w")}),
        )
        .await;
        if s != StatusCode::OK {
            continue;
        }
        for t in v["tasks"].as_array().cloned().unwrap_or_default() {
            tokio::time::sleep(pause).await;
            let id = enc(t["task_id"].as_str().expect("task_id"));
            let case_no = t["case_no"].as_str().expect("case_no");
            let task = t["task"].as_str().expect("task");
            let body = json!({"lease_token": t["lease_token"], "decision": "approved", "output": output(task, case_no)});
            // 409 after a retry on another node: the first attempt was applied (or the lease
            // expired and the task went to another fetch, which decides it).
            let (s, v) = call(
                &ring,
                &client,
                &format!("/v1/tasks/{id}/complete"),
                &token,
                &body,
            )
            .await;
            assert!(
                s == StatusCode::OK || s == StatusCode::CONFLICT,
                "{department}: {s} {v}"
            );
        }
    }
}

/// The webhook back office of `fo_tax`: records deliveries; `answer` decides them.
#[derive(Clone, Default)]
struct TaxOffice {
    pending: Arc<Mutex<Vec<(String, String)>>>,
    deliveries: Arc<AtomicUsize>,
}

impl TaxOffice {
    async fn start(&self) -> String {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/tasks",
            axum::routing::post(move |body: Bytes| {
                let me = me.clone();
                async move {
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    if let (Some(id), Some(no)) = (v["task_id"].as_str(), v["case_no"].as_str()) {
                        me.deliveries.fetch_add(1, Ordering::Relaxed);
                        me.pending.lock().await.push((id.to_owned(), no.to_owned()));
                    }
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

    async fn answer(self, ring: Ring, tokens: Value, stop: Arc<AtomicBool>) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let token = tokens["departments"]["fo_tax"]
            .as_str()
            .expect("token")
            .to_owned();
        while !stop.load(Ordering::Relaxed) {
            let batch: Vec<(String, String)> = std::mem::take(&mut *self.pending.lock().await);
            if batch.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            for (id, case_no) in batch {
                let body = json!({"decision": "approved", "output": output("tax", &case_no)});
                let (s, v) = call(
                    &ring,
                    &client,
                    &format!("/v1/tasks/{}/complete", enc(&id)),
                    &token,
                    &body,
                )
                .await;
                // A delivery repeated (at least once) is answered 409 the second time.
                assert!(
                    s == StatusCode::OK || s == StatusCode::CONFLICT,
                    "fo_tax: {s} {v}"
                );
            }
        }
    }
}

/// A fresh database on the server of `url`; returns its URL.
async fn fresh_database(url: &str) -> (String, String) {
    use sea_orm::{ConnectionTrait, Database};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let name = format!("yj_failover_{}_{nanos}", std::process::id());
    let db = Database::connect(url).await.expect("connect");
    db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create database");
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    (format!("{base}/{name}"), name)
}

async fn drop_database(url: &str, name: &str) {
    use sea_orm::{ConnectionTrait, Database};
    if let Ok(db) = Database::connect(url).await {
        let _ = db
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
    }
}

async fn rows(url: &str, sql: &str) -> Vec<sea_orm::QueryResult> {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let db = Database::connect(url).await.expect("connect");
    db.query_all_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .expect("query")
}

fn write_config(dir: &Path, db: &str, webhook: &str) {
    std::fs::create_dir_all(dir.join("bundles")).expect("bundles dir");
    std::fs::write(dir.join("bundles/failover.yaml"), BUNDLE).expect("bundle");
    std::fs::write(dir.join("tax.secret"), "failover-secret\n").expect("secret");
    let config = format!(
        "database: {db}\nbundles: [bundles]\ndepartments:\n  fo_tax:\n    adapter: http\n    url: {webhook}\n    secret_file: tax.secret\n"
    );
    std::fs::write(dir.join("yijian.yaml"), config).expect("config");
}

async fn submit_all(
    ring: &Ring,
    tokens: &Value,
    prefix: &str,
    n: usize,
    acked: Arc<Mutex<BTreeMap<String, String>>>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let window = tokens["window"].as_str().expect("window token").to_owned();
    for i in 0..n {
        let key = format!("{prefix}-{i}");
        let body = json!({"bundle": "failover", "region": "320106", "form": {}, "materials": {}, "idempotency_key": key});
        // Retried on the next node with the same key until acknowledged.
        let (s, v) = call(ring, &client, "/v1/cases", &window, &body).await;
        assert!(
            s == StatusCode::CREATED || s == StatusCode::OK,
            "submit {key}: {s} {v}"
        );
        let no = v["case_no"].as_str().expect("case_no").to_owned();
        acked.lock().await.insert(key, no);
    }
}

/// Waits until every case of the keys' prefix is closed, or panics after `limit` or when
/// a worker failed.
async fn all_closed(
    db: &str,
    prefix: &str,
    n: usize,
    limit: Duration,
    workers: &mut tokio::task::JoinSet<()>,
) {
    let start = Instant::now();
    loop {
        if let Some(r) = workers.try_join_next() {
            r.expect("a worker failed");
        }
        let r = rows(
            db,
            &format!(
                "SELECT COUNT(*) FROM cases WHERE closed AND idempotency_key LIKE '{prefix}-%'"
            ),
        )
        .await;
        let closed: i64 = r[0].try_get_by_index(0).expect("count");
        if closed as usize == n {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{closed} of {n} cases closed after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_postgres_survive_kill_9() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        println!("failover: DATABASE_URL is not set; skipping");
        return;
    };
    if url.is_empty() {
        return;
    }
    let (db, name) = fresh_database(&url).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let office = TaxOffice::default();
    let webhook = office.start().await;
    write_config(dir.path(), &db, &webhook);
    // The first node writes the development tokens; the others read them.
    let mut nodes = vec![Node::start(dir.path()).await];
    nodes.push(Node::start(dir.path()).await);
    nodes.push(Node::start(dir.path()).await);
    let tokens: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("yijian-dev-tokens.json")).expect("tokens"),
    )
    .expect("tokens json");
    let ring = Ring::default();
    ring.set(nodes.iter().map(|n| n.base.clone()).collect());

    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = tokio::task::JoinSet::new();
    workers.spawn(worker(
        ring.clone(),
        tokens.clone(),
        "fo_market",
        Duration::from_millis(5),
        stop.clone(),
    ));
    // The police worker is slow: many seals wait past their yellow and red times.
    workers.spawn(worker(
        ring.clone(),
        tokens.clone(),
        "fo_police",
        Duration::from_millis(40),
        stop.clone(),
    ));
    workers.spawn(
        office
            .clone()
            .answer(ring.clone(), tokens.clone(), stop.clone()),
    );

    let acked = Arc::new(Mutex::new(BTreeMap::new()));
    let submitter = {
        let (ring, tokens, acked) = (ring.clone(), tokens.clone(), acked.clone());
        tokio::spawn(async move { submit_all(&ring, &tokens, "fo", CASES, acked).await })
    };
    // Kill node 2 a third of the way in, node 3 at two thirds.
    for (at, victim) in [(CASES / 3, 1), (2 * CASES / 3, 2)] {
        while acked.lock().await.len() < at {
            assert!(!submitter.is_finished(), "the submitter stopped early");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let live: Vec<String> = nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != victim && (victim != 2 || *i != 1))
            .map(|(_, n)| n.base.clone())
            .collect();
        nodes[victim].kill();
        println!(
            "killed node {} after {at} acknowledged submissions",
            victim + 1
        );
        // Clients find out by failed connections; dropping the node from the ring only
        // spares them the retries.
        tokio::time::sleep(Duration::from_millis(200)).await;
        ring.set(live);
    }
    while !submitter.is_finished() {
        if let Some(r) = workers.try_join_next() {
            r.expect("a worker failed");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    submitter.await.expect("submitter");
    all_closed(&db, "fo", CASES, Duration::from_secs(240), &mut workers).await;
    stop.store(true, Ordering::Relaxed);
    while let Some(r) = workers.join_next().await {
        r.expect("a worker failed");
    }

    // Every acknowledged submission is exactly one case.
    let acked = acked.lock().await.clone();
    assert_eq!(acked.len(), CASES);
    let cases = rows(
        &db,
        "SELECT idempotency_key, case_no, status FROM cases WHERE idempotency_key LIKE 'fo-%'",
    )
    .await;
    assert_eq!(cases.len(), CASES, "one case per key");
    for r in &cases {
        let key: String = r.try_get_by_index(0).expect("key");
        let no: String = r.try_get_by_index(1).expect("no");
        let status: String = r.try_get_by_index(2).expect("status");
        assert_eq!(acked.get(&key), Some(&no), "the acknowledged case of {key}");
        assert_eq!(status, "completed", "{no}");
    }
    // Each decision applied once; each warning level at most once per task.
    let events = rows(&db, "SELECT case_no, kind, body FROM events").await;
    let mut approved: HashMap<(String, String), usize> = HashMap::new();
    let mut warnings: HashMap<(String, String, String), usize> = HashMap::new();
    for r in &events {
        let no: String = r.try_get_by_index(0).expect("no");
        let kind: String = r.try_get_by_index(1).expect("kind");
        let body: String = r.try_get_by_index(2).expect("body");
        let v: Value = serde_json::from_str(&body).expect("event json");
        let task = v["task"].to_string();
        if kind == "task_approved" {
            *approved.entry((no, task)).or_default() += 1;
        } else if kind.starts_with("warning_") {
            *warnings.entry((no, task, kind)).or_default() += 1;
        }
    }
    assert_eq!(approved.len(), 3 * CASES, "every task approved");
    assert!(
        approved.values().all(|n| *n == 1),
        "each decision applied once"
    );
    assert!(
        warnings.values().all(|n| *n == 1),
        "each warning once per level per task: {warnings:?}"
    );
    println!(
        "main run: {} cases, {} approvals, {} warnings, {} webhook deliveries",
        cases.len(),
        approved.len(),
        warnings.len(),
        office.deliveries.load(Ordering::Relaxed)
    );
    assert!(
        !warnings.is_empty(),
        "the slow worker let warnings fall due"
    );
    // No unit stays leased: every one is decided.
    let leased = rows(&db, "SELECT COUNT(*) FROM tasks WHERE ready_at IS NOT NULL").await;
    assert_eq!(leased[0].try_get_by_index::<i64>(0).expect("count"), 0);

    // Timer-only: a new node takes cases nobody works on and dies; their warnings (yellow
    // at 3 s, red at 6 s) come from the survivor.
    let mut fourth = Node::start(dir.path()).await;
    let only = Ring::default();
    only.set(vec![fourth.base.clone()]);
    let orphans = Arc::new(Mutex::new(BTreeMap::new()));
    submit_all(&only, &tokens, "orphan", 10, orphans.clone()).await;
    fourth.kill();
    let start = Instant::now();
    let expected: HashSet<String> = orphans.lock().await.values().cloned().collect();
    loop {
        let r = rows(&db, "SELECT e.case_no, e.kind, e.body FROM events e JOIN cases c ON c.case_no = e.case_no WHERE c.idempotency_key LIKE 'orphan-%' AND e.kind LIKE 'warning_%'").await;
        let mut per: HashMap<(String, String, String), usize> = HashMap::new();
        for row in &r {
            let no: String = row.try_get_by_index(0).expect("no");
            let kind: String = row.try_get_by_index(1).expect("kind");
            let body: String = row.try_get_by_index(2).expect("body");
            let v: Value = serde_json::from_str(&body).expect("json");
            *per.entry((no, v["task"].to_string(), kind)).or_default() += 1;
        }
        assert!(
            per.values().all(|n| *n == 1),
            "each level once per task: {per:?}"
        );
        // licence and tax are dispatched at once: yellow and red for each, per case (the
        // case's own warning, `task` null, comes too).
        let full = expected.iter().all(|no| {
            ["warning_yellow", "warning_red"].iter().all(|k| {
                per.keys()
                    .filter(|(n, task, kind)| n == no && kind == k && task != "null")
                    .count()
                    == 2
            })
        });
        if full {
            println!(
                "timer-only: every orphan got its warnings from the survivor after {:?}",
                start.elapsed()
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the survivor did not fire the orphans' warnings: {per:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The audit chain verifies, read by the CLI as an operator would.
    let out = Command::new(env!("CARGO_BIN_EXE_yijian"))
        .args(["audit", "verify", "--db", &db])
        .output()
        .expect("yijian audit verify");
    assert!(
        out.status.success(),
        "audit verify: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for n in &mut nodes {
        n.kill();
    }
    drop_database(&url, &name).await;
}
