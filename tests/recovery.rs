//! No lost work: a child process running cases on a SQLite file — and on a PostgreSQL
//! database when `DATABASE_URL` is set — is killed with SIGKILL at random moments, 20 times
//! (`YIJIAN_KILLS` for more: docs/reliability.md has the figures of 100), and restarted on
//! the same store each time. At the end every acknowledged submission and completion is in
//! the event log exactly once, every case reached a final state, and every audit chain
//! verifies.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use yijian::engine::EventKind;
use yijian::engine::ids::CaseNo;
use yijian::engine::store::{CaseStore, EventLog};
use yijian_store_sql::SqlStore;

/// How many cases: 150, or `YIJIAN_KILL_CASES`.
fn cases() -> usize {
    std::env::var("YIJIAN_KILL_CASES")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(150)
}
/// How many kills: 20, or `YIJIAN_KILLS`.
fn kills() -> usize {
    std::env::var("YIJIAN_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(20)
}

fn child_binary() -> std::path::PathBuf {
    // target/<profile>/deps/tests-… → target/<profile>/examples/crash_child
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = profile
        .join("examples")
        .join(format!("crash_child{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        // `cargo test --test tests` alone does not build the examples.
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "crash_child", "--quiet"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the crash_child example failed");
    }
    bin
}

fn spawn(url: &str, journal: &std::path::Path) -> Child {
    Command::new(child_binary())
        .args([
            url,
            journal.to_str().expect("utf-8 path"),
            &cases().to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start crash_child (built by `cargo test` with the examples)")
}

/// A small deterministic generator (the seed is printed so a failure can be replayed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_nothing_acknowledged_is_lost_or_applied_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("crash.db").display()
    );
    killed_on(&url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_on_postgres_nothing_is_lost_or_applied_twice() {
    use sea_orm::{ConnectionTrait, Database};
    let Ok(base) = std::env::var("DATABASE_URL") else {
        println!("DATABASE_URL is not set; skipping the PostgreSQL run");
        return;
    };
    // A database of its own: the child connects with a plain URL.
    let name = format!(
        "crash_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let admin = Database::connect(&base).await.expect("connect");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("DATABASE_URL names no database: {base}"),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    killed_on(&url, dir.path()).await;
}

async fn killed_on(url: &str, dir: &std::path::Path) {
    let url = url.to_owned();
    let journal = dir.join("journal.txt");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    println!("crash test seed {seed}");
    let mut rng = Lcg(seed);
    let kills = kills();
    println!(
        "{kills} kills on {}",
        url.split(':').next().unwrap_or_default()
    );
    for _ in 0..kills {
        let mut child = spawn(&url, &journal);
        std::thread::sleep(Duration::from_millis(150 + rng.next(900)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    // A last run without interruption finishes every case.
    let mut child = spawn(&url, &journal);
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "the final run failed: {status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1_800),
            "the final run did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let store = SqlStore::connect(&url).await.expect("reopen");
    let text = std::fs::read_to_string(&journal).expect("journal");
    let mut submitted: HashMap<String, String> = HashMap::new();
    let mut completed: HashSet<(String, String, u64)> = HashSet::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["S", key, case] => {
                // A repeated submission after a restart must have got the same case.
                if let Some(first) = submitted.insert((*key).to_owned(), (*case).to_owned()) {
                    assert_eq!(&first, case, "key {key} acknowledged two cases");
                }
            }
            ["C", case, task, token] => {
                completed.insert((
                    (*case).to_owned(),
                    (*task).to_owned(),
                    token.parse().expect("token"),
                ));
            }
            // A line cut by the kill was never acknowledged.
            _ => {}
        }
    }
    assert!(
        !submitted.is_empty() && !completed.is_empty(),
        "the child made progress before being killed"
    );
    assert_eq!(
        store.case_count().await.expect("count"),
        cases() as u64,
        "one case per idempotency key"
    );
    for (key, case) in &submitted {
        assert_eq!(
            store
                .case_for_key(key)
                .await
                .expect("lookup")
                .map(|k| k.case_no),
            Some(CaseNo::new(case)),
            "{key}"
        );
    }
    assert!(
        store.open_cases().await.expect("open").is_empty(),
        "every case reached a final state"
    );
    for (case, task, token) in &completed {
        let (summary, events) = store
            .read(&CaseNo::new(case))
            .await
            .expect("read")
            .expect("case exists");
        assert!(summary.closed);
        let approvals = events
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::TaskApproved { task: t, .. } if t.task.0 == 0 && task == "licence"))
            .count();
        assert_eq!(
            approvals, 1,
            "{case}: the acknowledged completion (token {token}) is there exactly once"
        );
        let leased = events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::TaskLeased { token: t, .. } if t == token));
        assert!(
            leased,
            "{case}: the lease {token} that completed it is recorded"
        );
    }
    // Every case's every task was decided exactly once.
    let mut cases: Vec<&String> = submitted.values().collect();
    cases.sort();
    cases.dedup();
    for case in cases {
        let (_, events) = store
            .read(&CaseNo::new(case))
            .await
            .expect("read")
            .expect("case");
        let mut per_task: HashMap<u32, usize> = HashMap::new();
        for e in &events {
            if let EventKind::TaskApproved { task, .. } = &e.kind {
                *per_task.entry(task.task.0).or_default() += 1;
            }
        }
        assert_eq!(per_task.len(), 3, "{case}: three tasks approved");
        assert!(
            per_task.values().all(|n| *n == 1),
            "{case}: no task applied twice: {per_task:?}"
        );
    }
    assert!(
        store.verify(None).await.expect("verify").is_empty(),
        "every audit chain verifies"
    );
}
