//! Two engines ("nodes") on one store — one SQLite file, one PostgreSQL schema: fetches
//! never lease a unit twice, decisions made on either node all apply once without
//! conflicts reaching the caller, and a long poll on one node is woken by a commit on the
//! other.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use yijian_engine::store::WorkStore as _;
use yijian_engine::{
    Actor, Engine, EventKind, FetchRequest, LeasedWork, Submission, SubmitRequest,
};
use yijian_store_sql::SqlStore;

use crate::support;

const BUNDLE: &str = r#"
yijian: 1
id: cluster-3
version: 1
title: cluster-3
time_limit: 5wd
tasks:
  a: {title: A, department: qa, output: {licence_no: string}}
  b: {title: B, department: qb, output: {licence_no: string}}
  c: {title: C, department: qc, after: [a], output: {licence_no: string}}
"#;

fn request() -> SubmitRequest {
    SubmitRequest {
        bundle: "cluster-3".into(),
        submission: Submission::default(),
        ..SubmitRequest::default()
    }
}

fn fetch(department: &str, max: usize, wait: Duration) -> FetchRequest {
    FetchRequest {
        department: department.into(),
        region: None,
        max,
        lease: Duration::from_secs(300),
        wait,
        worker: format!("worker-{department}"),
        kinds: Vec::new(),
    }
}

async fn nodes(first: SqlStore, second: SqlStore, recheck: Duration) -> [Engine<SqlStore>; 2] {
    let a = Engine::builder(first)
        .fetch_recheck(recheck)
        .build()
        .await
        .expect("node a");
    let b = Engine::builder(second)
        .fetch_recheck(recheck)
        .build()
        .await
        .expect("node b");
    a.deploy(BUNDLE).await.expect("deploy");
    b.deploy(BUNDLE).await.expect("deploy");
    [a, b]
}

/// A small deterministic generator for batch sizes (xorshift).
struct Sizes(u64);

impl Sizes {
    fn next(&mut self, max: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        1 + (self.0 % max as u64) as usize
    }
}

/// Both nodes fetch department `qa` concurrently, round after round with varying batch
/// sizes, until every case's unit is leased: no unit is leased twice, none is missed; then
/// each node approves what it leased while the other approves `qb` of the same cases, so
/// most commits meet a case the other node just moved. Every decision applies once, no
/// caller sees a conflict, every case completes, and the audit chain holds.
async fn never_twice(nodes: [Engine<SqlStore>; 2], cases: usize, seed: u64) {
    let [a, b] = nodes;
    for i in 0..cases {
        let node = if i % 2 == 0 { &a } else { &b };
        node.submit(request()).await.expect("submit");
    }
    let mut sizes = Sizes(seed);
    let mut leased: Vec<(usize, LeasedWork)> = Vec::new();
    let mut rounds = 0;
    while leased.len() < cases && rounds < 10 * cases {
        rounds += 1;
        let (fa, fb) = (
            fetch("qa", sizes.next(8), Duration::ZERO),
            fetch("qa", sizes.next(8), Duration::ZERO),
        );
        let (ra, rb) = tokio::join!(a.fetch(&fa), b.fetch(&fb));
        leased.extend(ra.expect("fetch on a").into_iter().map(|w| (0, w)));
        leased.extend(rb.expect("fetch on b").into_iter().map(|w| (1, w)));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (_, w) in &leased {
        *seen.entry(w.work.case_no.to_string()).or_default() += 1;
    }
    assert_eq!(
        seen.len(),
        cases,
        "every case's unit was leased ({rounds} rounds)"
    );
    assert!(
        seen.values().all(|n| *n == 1),
        "no unit was leased twice: {seen:?}"
    );
    assert!(
        leased.iter().any(|(n, _)| *n == 0) && leased.iter().any(|(n, _)| *n == 1),
        "both nodes leased some"
    );

    // Decisions on both nodes at once, on the same cases.
    let qb: Vec<LeasedWork> = {
        let mut all = Vec::new();
        while all.len() < cases {
            let got = b
                .fetch(&fetch("qb", 100, Duration::ZERO))
                .await
                .expect("qb");
            assert!(!got.is_empty(), "every qb unit is fetchable");
            all.extend(got);
        }
        all
    };
    let mut set = tokio::task::JoinSet::new();
    for (n, w) in leased {
        let node = if n == 0 { a.clone() } else { b.clone() };
        set.spawn(async move { approve(&node, &w, "qa").await });
    }
    for w in qb {
        // Every qb decision on the node that did not lease that case's qa unit… or not:
        // alternate, so both nodes move every case.
        let node = if w.work.case_no.as_str().len() % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        };
        set.spawn(async move { approve(&node, &w, "qb").await });
    }
    while let Some(r) = set.join_next().await {
        r.expect("joined").expect(
            "a decision racing the other node still applies: no conflict reaches the caller",
        );
    }
    // `c` follows `a`: fetched on either node, approved.
    let mut done = 0;
    while done < cases {
        let got = a
            .fetch(&fetch("qc", 100, Duration::ZERO))
            .await
            .expect("qc");
        assert!(!got.is_empty(), "every qc unit is fetchable");
        for w in got {
            approve(&b, &w, "qc").await.expect("qc approved");
            done += 1;
        }
    }
    let found = a
        .store()
        .search(&yijian_engine::store::CaseQuery {
            bundle: Some("cluster-3".into()),
            limit: cases + 10,
            count: true,
            ..Default::default()
        })
        .await
        .expect("search");
    assert_eq!(found.total, Some(cases as u64));
    for c in found.cases {
        assert_eq!(c.status, "completed", "case {}", c.case_no);
        let events = b.events(&c.case_no).await.expect("events");
        let approved = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::TaskApproved { .. }))
            .count();
        assert_eq!(approved, 3, "each decision applied once in {}", c.case_no);
    }
    assert_eq!(a.store().verify(None).await.expect("verify"), vec![]);
}

async fn approve(
    node: &Engine<SqlStore>,
    w: &LeasedWork,
    department: &str,
) -> Result<(), yijian_engine::EngineError> {
    let command = yijian_engine::Command::new(
        Actor::Department(department.into()),
        yijian_engine::Action::Approve {
            task: w.work.task,
            output: json!({"licence_no": format!("{}-{department}", w.work.case_no)}),
        },
    )
    .with_lease(w.lease_token);
    node.execute(&w.work.case_no, command).await.map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_sqlite_file_never_lease_a_unit_twice() {
    for seed in [7, 1_234_567] {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = support::sqlite_url(dir.path());
        let first = SqlStore::connect(&url).await.expect("connect");
        let second = SqlStore::connect(&url).await.expect("connect");
        never_twice(nodes(first, second, Duration::from_secs(1)).await, 40, seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_never_lease_a_unit_twice() {
    let Some(url) = support::database_url("cluster::never_twice") else {
        return;
    };
    for seed in [7, 1_234_567] {
        let schema = support::fresh_schema();
        let first = support::pg_store(&url, &schema).await;
        let second = support::pg_store(&url, &schema).await;
        never_twice(nodes(first, second, Duration::from_secs(1)).await, 40, seed).await;
        support::drop_schema(&url, &schema).await;
    }
}

/// Node B long-polls a department; node A's commit makes a unit of it ready. With B's
/// re-check interval longer than its wait, only a wake-up from A through the store can
/// answer B's poll: `NOTIFY` on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_on_one_node_is_woken_by_a_commit_on_another() {
    let Some(url) = support::database_url("cluster::wake") else {
        return;
    };
    let schema = support::fresh_schema();
    let first = support::pg_store(&url, &schema).await;
    let second = support::pg_store(&url, &schema).await;
    let [a, b] = nodes(first, second, Duration::from_secs(3_600)).await;
    for round in 0..3 {
        let poller = b.clone();
        let started = tokio::time::Instant::now();
        let poll =
            tokio::spawn(
                async move { poller.fetch(&fetch("qb", 1, Duration::from_secs(30))).await },
            );
        // Let the poll find the queue empty and wait.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let submitted = tokio::time::Instant::now();
        a.submit(request()).await.expect("submit on a");
        let got = poll.await.expect("joined").expect("fetch on b");
        assert_eq!(
            got.len(),
            1,
            "round {round}: B's poll answered by A's commit"
        );
        println!(
            "round {round}: woken {:?} after A's submission was acknowledged ({:?} after the poll began)",
            submitted.elapsed(),
            started.elapsed()
        );
    }
    support::drop_schema(&url, &schema).await;
}

/// On SQLite (no `NOTIFY`), a poll on one engine finds what another engine committed
/// within its re-check interval: a lost wake-up costs at most one re-check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_notices_a_long_poll_finds_the_unit_at_its_next_recheck() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = support::sqlite_url(dir.path());
    let first = SqlStore::connect(&url).await.expect("connect");
    let second = SqlStore::connect(&url).await.expect("connect");
    let [a, b] = nodes(first, second, Duration::from_millis(200)).await;
    let poller = b.clone();
    let poll =
        tokio::spawn(async move { poller.fetch(&fetch("qb", 1, Duration::from_secs(30))).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.submit(request()).await.expect("submit on a");
    let got = poll.await.expect("joined").expect("fetch on b");
    assert_eq!(got.len(), 1, "B's poll found A's unit");
}

/// A store written before the work tables: open cases without task rows (their rows
/// deleted here, as after the migration) get them at the next start, and their units are
/// fetchable again; nothing else is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_stored_before_the_work_tables_get_their_rows_at_start() {
    use sea_orm::ConnectionTrait;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = support::sqlite_url(dir.path());
    let first = SqlStore::connect(&url).await.expect("connect");
    let second = SqlStore::connect(&url).await.expect("connect");
    let [a, _] = nodes(first, second, Duration::from_secs(1)).await;
    for _ in 0..3 {
        a.submit(request()).await.expect("submit");
    }
    a.shutdown().await;
    drop(a);
    let raw = support::raw(&url, None).await;
    raw.execute_unprepared("DELETE FROM tasks")
        .await
        .expect("the rows of an old store");
    let store = SqlStore::connect(&url).await.expect("connect");
    let e = Engine::builder(store).build().await.expect("engine");
    assert!(
        e.fetch(&fetch("qa", 10, Duration::ZERO))
            .await
            .expect("fetch")
            .is_empty(),
        "without rows nothing is fetchable"
    );
    e.recover().await.expect("recover");
    let got = e
        .fetch(&fetch("qa", 10, Duration::ZERO))
        .await
        .expect("fetch");
    assert_eq!(got.len(), 3, "every open case's unit is back in its queue");
    assert_eq!(e.store().verify(None).await.expect("verify"), vec![]);
}

/// Rows written before task kinds were kept: a fetch narrowed to a kind does not see them
/// until the next start rewrites their cases' rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_written_before_task_kinds_get_them_at_start() {
    use sea_orm::ConnectionTrait;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = support::sqlite_url(dir.path());
    let store = SqlStore::connect(&url).await.expect("connect");
    let a = Engine::builder(store).build().await.expect("engine");
    a.deploy(BUNDLE).await.expect("deploy");
    for _ in 0..2 {
        a.submit(request()).await.expect("submit");
    }
    a.shutdown().await;
    drop(a);
    let raw = support::raw(&url, None).await;
    raw.execute_unprepared("UPDATE tasks SET kind = NULL")
        .await
        .expect("the rows of an older store");
    let store = SqlStore::connect(&url).await.expect("connect");
    let e = Engine::builder(store).build().await.expect("engine");
    let narrowed = |kind: &str| FetchRequest {
        kinds: vec![kind.to_owned()],
        ..fetch("qa", 10, Duration::ZERO)
    };
    assert!(
        e.fetch(&narrowed("a")).await.expect("fetch").is_empty(),
        "a row without a kind matches no narrowed fetch"
    );
    e.recover().await.expect("recover");
    let got = e.fetch(&narrowed("a")).await.expect("fetch");
    assert_eq!(
        got.len(),
        2,
        "every open case's unit of kind `a` is fetchable again"
    );
}

/// Records the units handed to it and leaves them pending (a webhook that answers later).
#[derive(Debug, Default)]
struct Outbox {
    got: std::sync::Mutex<Vec<(String, u32)>>,
}

impl yijian_engine::Adapter for Outbox {
    fn dispatch(
        &self,
        work: &yijian_engine::Work,
        _reply: &yijian_engine::Replier,
    ) -> yijian_engine::Dispatch {
        self.got
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((work.case_no.to_string(), work.attempt));
        yijian_engine::Dispatch::Pending
    }
}

/// A node commits a pushed dispatch and dies before pushing (here: its adapter drops the
/// push). Within the hold nobody else pushes it; once the hold has passed, another node's
/// sweep pushes it, with the same attempt (so the same `Idempotency-Key`), and holds it
/// again; a decision ends the debt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_owed_by_a_dead_node_is_delivered_by_another() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = support::sqlite_url(dir.path());
    let clock = yijian_engine::ManualClock::new(jiff::Timestamp::now());
    let node = |store| {
        Engine::builder(store)
            .clock(Arc::new(clock.clone()))
            .build()
    };
    let a = node(SqlStore::connect(&url).await.expect("connect"))
        .await
        .expect("node a");
    a.deploy(BUNDLE).await.expect("deploy");
    let dead = Arc::new(Outbox::default());
    a.register_adapter("qb", dead.clone());
    let b = node(SqlStore::connect(&url).await.expect("connect"))
        .await
        .expect("node b");
    let live = Arc::new(Outbox::default());
    b.register_adapter("qb", live.clone());
    let case = a.submit(request()).await.expect("submit on a");
    let first = dead.got.lock().expect("lock").clone();
    assert_eq!(first.len(), 1, "a handed the push to its adapter once");
    // a "dies": its push never left. Within the hold, b leaves it to a.
    clock.advance(jiff::SignedDuration::from_secs(10));
    assert_eq!(b.redeliver().await, 0, "held for its dispatching node");
    clock.advance(jiff::SignedDuration::from_secs(25));
    assert_eq!(b.redeliver().await, 1, "owed past its hold: b pushes it");
    let again = live.got.lock().expect("lock").clone();
    assert_eq!(
        again, first,
        "the same case and attempt: the same idempotency key"
    );
    assert_eq!(b.redeliver().await, 0, "held again after the redelivery");
    // Answered (through either node): nothing is owed any more.
    let task = b.task_ref(&case.case_no, "b").await.expect("task");
    b.execute(
        &case.case_no,
        yijian_engine::Command::new(
            Actor::Department("qb".into()),
            yijian_engine::Action::Approve {
                task,
                output: json!({"licence_no": "B-1"}),
            },
        ),
    )
    .await
    .expect("approved without a lease");
    clock.advance(jiff::SignedDuration::from_secs(60));
    assert_eq!(b.redeliver().await, 0, "a decided unit is owed to nobody");
}
