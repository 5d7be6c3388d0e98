//! The store contract as executable checks: every [`Store`] must pass them.
//!
//! ```no_run
//! # async fn t() {
//! use yijian_store_sql::conformance;
//! conformance::run_all(|| async { yijian_engine::MemoryStore::new() }).await;
//! # }
//! ```
//!
//! Each check gets its own store from `make` and panics with a message naming the contract
//! point it found broken. Case numbers and bundle ids are unique per run, so stores that
//! keep data between runs (one PostgreSQL database) pass again; only [`Check::CaseCount`]
//! assumes no one else creates cases in the store while it runs.

use std::borrow::Cow;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use serde_json::json;
use yijian_definitions::TaskIdx;
use yijian_engine::store::{CaseSummary, Commit, Deployed, DeployedBundle, Store, StoreError};
use yijian_engine::{Actor, CaseNo, Event, EventKind, TaskRef};

/// One point of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Check {
    /// Events read back equal the events appended (every kind), with the latest summary;
    /// an unknown case reads as `None`.
    ReadBack,
    /// Commits handed over without waiting are applied in call order, per case and across
    /// cases.
    Ordering,
    /// A commit decided on another version is refused with `Conflict` (with both versions)
    /// and writes nothing; the commits around it still apply.
    Conflict,
    /// `case_for_key` finds the case a key created; a second case with the same key is
    /// refused with `Conflict` and the first keeps the key.
    IdempotencyKey,
    /// id+version is immutable: same content `Unchanged`, other content `BundleExists`;
    /// `bundles` lists by id then version.
    Bundles,
    /// `open_cases` lists the cases not closed, with their latest summaries.
    OpenCases,
    /// `case_count` counts the cases created.
    CaseCount,
    /// Many cases appended concurrently from many tasks all apply, each in order.
    Concurrency,
}

impl Check {
    /// Every check, in the order [`run_all`] runs them.
    pub const ALL: &'static [Check] = &[
        Check::ReadBack,
        Check::Ordering,
        Check::Conflict,
        Check::IdempotencyKey,
        Check::Bundles,
        Check::OpenCases,
        Check::CaseCount,
        Check::Concurrency,
    ];
}

/// Runs every check, each on a store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: Store + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    run_except(make, &[]).await;
}

/// Runs every check but those in `skip` (each skipped check is printed).
pub async fn run_except<S, F, Fut>(make: F, skip: &[Check])
where
    S: Store + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    for check in Check::ALL {
        if skip.contains(check) {
            println!("conformance: skipped {check:?}");
            continue;
        }
        run(*check, make().await).await;
    }
}

/// Runs one check on `store`.
pub async fn run<S: Store + Clone>(check: Check, store: S) {
    let run = Run::new();
    match check {
        Check::ReadBack => read_back(&store, &run).await,
        Check::Ordering => ordering(&store, &run).await,
        Check::Conflict => conflict(&store, &run).await,
        Check::IdempotencyKey => idempotency_key(&store, &run).await,
        Check::Bundles => bundles(&store, &run).await,
        Check::OpenCases => open_cases(&store, &run).await,
        Check::CaseCount => case_count(&store, &run).await,
        Check::Concurrency => concurrency(&store, &run).await,
    }
}

/// Names unique to one run of one check.
struct Run {
    prefix: String,
}

impl Run {
    fn new() -> Run {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = Timestamp::now().as_nanosecond();
        Run {
            prefix: format!(
                "T{}-{nanos}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }

    fn case(&self, name: &str) -> CaseNo {
        CaseNo::new(format!("{}-{name}", self.prefix))
    }
}

fn t(seconds: i64) -> Timestamp {
    // Nanoseconds on purpose: timestamps must come back exactly.
    Timestamp::new(1_780_000_000 + seconds, 123_456_789).expect("a valid timestamp")
}

/// An event of (nearly) each kind, numbered from `from` (the number is in the events, so
/// that misordered or lost events show). Written as the JSON the engine serialises, so the
/// fixture follows the event format rather than its Rust constructors.
fn every_kind(from: u32) -> Vec<Event> {
    let at = |i: i64| t(i64::from(from) + i).to_string();
    let task = |i: u32| json!({"task": i});
    let kinds = vec![
        json!({"event": "case_submitted", "submission": {
            "region": "110105",
            "form": {"name": "张三", "n": from, "nested": {"a": [1, 2.5, null]}},
            "materials": {"id_card": {"name": "身份证.pdf", "sha256": "ab".repeat(32), "uri": "https://files.example/1"}},
            "unavailable": ["licence"]
        }, "deferred": ["photo"]}),
        json!({"event": "case_accepted", "due": at(86_400), "statutory_due": at(172_800),
               "warn_at": at(43_200), "deferred_due": [["photo", at(3_600)]]}),
        json!({"event": "task_dispatched", "task": task(0), "attempt": from,
               "input": {"k": "v"}, "due": at(1_000)}),
        json!({"event": "task_fanned_out", "task": task(1), "items": ["a", {"b": 1}]}),
        json!({"event": "task_skipped", "task": task(2)}),
        json!({"event": "task_approved", "task": {"task": 1, "instance": 0},
               "output": {"licence_no": "X-1"}}),
        json!({"event": "task_rejected", "task": task(3)}),
        json!({"event": "supplement_requested", "task": task(4),
               "missing": [{"material": "photo", "reason": "模糊"}], "respond_by": at(5_000)}),
        json!({"event": "supplied", "form": {"phone": "123"}}),
        json!({"event": "task_withdrawn", "task": task(5)}),
        json!({"event": "task_cancelled", "task": task(6), "cause": "upstream", "upstream": task(3)}),
        json!({"event": "task_failed", "task": task(0), "attempt": from, "error": "timeout",
               "retry_at": at(60)}),
        json!({"event": "case_closed", "outcome": "partially_completed",
               "documents": {"licence": "X-1"}}),
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, mut kind)| {
            let fields = kind.as_object_mut().expect("a fixture event is an object");
            fields.insert("at".into(), json!(at(i as i64)));
            let actor = if i % 2 == 0 {
                json!({"kind": "department", "id": "dept-a"})
            } else {
                json!({"kind": "engine"})
            };
            fields.insert("actor".into(), actor);
            if i % 3 == 0 {
                fields.insert("reason".into(), json!(format!("reason {from}")));
            }
            serde_json::from_value(kind.clone()).unwrap_or_else(|e| {
                panic!("conformance fixture event {i} no longer parses ({e}); update every_kind: {kind}")
            })
        })
        .collect()
}

/// `n` small events numbered from `from` (the reason carries the number).
fn numbered(from: u32, n: u32) -> Vec<Event> {
    (from..from + n)
        .map(|i| Event {
            at: t(i64::from(i)),
            actor: Actor::Engine,
            reason: Some(format!("#{i}")),
            kind: EventKind::TaskSkipped {
                task: TaskRef::task(TaskIdx(i)),
            },
        })
        .collect()
}

fn summary(case_no: &CaseNo, count: u64, status: &str, closed: bool) -> CaseSummary {
    CaseSummary {
        case_no: case_no.clone(),
        bundle: "conformance".into(),
        version: 3,
        region: "110105".into(),
        status: Cow::Owned(status.to_owned()),
        closed,
        event_count: count,
        accepted_at: Some(t(0)),
    }
}

fn commit(case_no: &CaseNo, expected: u64, events: Vec<Event>, closed: bool) -> Commit {
    let count = expected + events.len() as u64;
    let status = if closed { "completed" } else { "running" };
    Commit {
        case_no: case_no.clone(),
        expected_version: expected,
        events,
        summary: summary(case_no, count, status, closed),
        idempotency_key: None,
    }
}

async fn append<S: Store>(store: &S, c: Commit, what: &str) {
    if let Err(e) = store.append(c).await {
        panic!("{what}: append failed: {e}");
    }
}

async fn read<S: Store>(store: &S, case_no: &CaseNo) -> (CaseSummary, Vec<Event>) {
    match store.read(case_no).await {
        Ok(Some(r)) => r,
        Ok(None) => panic!("read {case_no}: the case is unknown"),
        Err(e) => panic!("read {case_no}: {e}"),
    }
}

fn assert_conflict(r: Result<(), StoreError>, case_no: &CaseNo, expected: u64, found: u64) {
    match r {
        Err(StoreError::Conflict {
            case_no: c,
            expected: e,
            found: f,
        }) => {
            assert_eq!(&c, case_no, "Conflict names the case");
            assert_eq!((e, f), (expected, found), "Conflict carries both versions");
        }
        other => panic!(
            "{case_no}: expected Conflict (expected {expected}, found {found}), got {other:?}"
        ),
    }
}

async fn read_back<S: Store>(store: &S, run: &Run) {
    let no = run.case("read-back");
    let first = every_kind(1);
    let c = commit(&no, 0, first.clone(), false);
    let expected_summary = c.summary.clone();
    append(store, c, "read back").await;
    let (s, events) = read(store, &no).await;
    assert_eq!(s, expected_summary, "the summary reads back as written");
    assert_eq!(events, first, "events read back equal, in order");

    let n = first.len();
    let second = numbered(100, 3);
    let mut c = commit(&no, n as u64, second.clone(), true);
    c.summary.status = Cow::Borrowed("partially_completed");
    let latest = c.summary.clone();
    append(store, c, "read back, second commit").await;
    let (s, events) = read(store, &no).await;
    assert_eq!(s, latest, "the summary is the latest commit's");
    assert_eq!(s.event_count, n as u64 + 3, "event_count counts every event");
    assert_eq!(events[..n], first[..], "older events are unchanged");
    assert_eq!(events[n..], second[..], "new events follow");

    let unknown = run.case("never-written");
    assert!(
        store.read(&unknown).await.expect("read").is_none(),
        "an unknown case reads as None"
    );
}

async fn ordering<S: Store>(store: &S, run: &Run) {
    // One case: ten commits handed over back to back, awaited afterwards.
    let no = run.case("ordering");
    let mut pending = Vec::new();
    for i in 0..10u32 {
        let expected = u64::from(i) * 2;
        pending.push(store.append(commit(&no, expected, numbered(i * 2, 2), false)));
    }
    for (i, p) in pending.into_iter().enumerate() {
        if let Err(e) = p.await {
            panic!("ordering: commit {i}, handed over in order, failed: {e}");
        }
    }
    let (s, events) = read(store, &no).await;
    assert_eq!(s.event_count, 20);
    assert_eq!(events, numbered(0, 20), "commits apply in call order");

    // Several cases interleaved.
    let cases: Vec<CaseNo> = (0..4)
        .map(|i| run.case(&format!("interleaved-{i}")))
        .collect();
    let mut pending = Vec::new();
    for round in 0..5u32 {
        for no in &cases {
            let expected = u64::from(round) * 3;
            pending.push(store.append(commit(no, expected, numbered(round * 3, 3), false)));
        }
    }
    for p in pending {
        p.await.expect("ordering: interleaved commits apply");
    }
    for no in &cases {
        assert_eq!(
            read(store, no).await.1,
            numbered(0, 15),
            "interleaved commits of {no} apply in call order"
        );
    }
}

async fn conflict<S: Store>(store: &S, run: &Run) {
    let no = run.case("conflict");
    append(
        store,
        commit(&no, 0, numbered(0, 3), false),
        "conflict setup",
    )
    .await;

    let stale = store.append(commit(&no, 1, numbered(1, 1), false)).await;
    assert_conflict(stale, &no, 1, 3);
    let ahead = store.append(commit(&no, 5, numbered(5, 1), false)).await;
    assert_conflict(ahead, &no, 5, 3);
    let recreate = store.append(commit(&no, 0, numbered(0, 1), false)).await;
    assert_conflict(recreate, &no, 0, 3);
    let (s, events) = read(store, &no).await;
    assert_eq!(
        (s.event_count, events),
        (3, numbered(0, 3)),
        "a refused commit writes nothing"
    );

    let ghost = run.case("conflict-ghost");
    let r = store.append(commit(&ghost, 2, numbered(2, 1), false)).await;
    assert_conflict(r, &ghost, 2, 0);
    assert!(
        store.read(&ghost).await.expect("read").is_none(),
        "a refused commit does not create its case"
    );

    // A bad commit between two good ones, all handed over before any is awaited.
    let a = store.append(commit(&no, 3, numbered(3, 2), false));
    let b = store.append(commit(&no, 9, numbered(9, 1), false));
    let c = store.append(commit(&no, 5, numbered(5, 1), false));
    a.await.expect("the commit before a refused one applies");
    assert_conflict(b.await, &no, 9, 5);
    c.await.expect("the commit after a refused one applies");
    let (s, events) = read(store, &no).await;
    assert_eq!((s.event_count, events), (6, numbered(0, 6)));
}

async fn idempotency_key<S: Store>(store: &S, run: &Run) {
    let key = format!("{}-key", run.prefix);
    assert_eq!(
        store.case_for_key(&key).await.expect("case_for_key"),
        None,
        "an unused key names no case"
    );
    let first = run.case("key-first");
    let mut c = commit(&first, 0, numbered(0, 2), false);
    c.idempotency_key = Some(key.clone());
    append(store, c, "idempotency key").await;
    assert_eq!(
        store.case_for_key(&key).await.expect("case_for_key"),
        Some(first.clone()),
        "the key names the case it created"
    );
    // Later commits carry no key; the case keeps it.
    append(
        store,
        commit(&first, 2, numbered(2, 1), true),
        "after the key",
    )
    .await;
    assert_eq!(
        store.case_for_key(&key).await.expect("case_for_key"),
        Some(first.clone()),
        "the key survives later commits"
    );

    let second = run.case("key-second");
    let mut c = commit(&second, 0, numbered(0, 2), false);
    c.idempotency_key = Some(key.clone());
    match store.append(c).await {
        Err(StoreError::Conflict { case_no, .. }) => assert_eq!(case_no, second),
        other => panic!("a second case with a used idempotency key must be refused, got {other:?}"),
    }
    assert_eq!(
        store.case_for_key(&key).await.expect("case_for_key"),
        Some(first),
        "the first case keeps its key"
    );
    assert!(
        store.read(&second).await.expect("read").is_none(),
        "the refused case is not written"
    );
}

async fn bundles<S: Store>(store: &S, run: &Run) {
    let id = |n: &str| format!("{}-{n}", run.prefix);
    let bundle = |name: &str, version: u32, yaml: &str| DeployedBundle {
        id: id(name),
        version,
        yaml: yaml.to_owned(),
        hash: format!("hash of {yaml}"),
    };
    let b1 = bundle("b", 1, "yijian: 1\nid: b\nversion: 1\n");
    let b2 = bundle("b", 2, "yijian: 1\nid: b\nversion: 2\n");
    let a1 = bundle("a", 1, "yijian: 1\nid: a\nversion: 1\n");
    for b in [&b2, &b1, &a1] {
        assert_eq!(
            store.deploy(b.clone()).await.expect("deploy"),
            Deployed::Created,
            "a new id+version is created"
        );
    }
    assert_eq!(
        store.deploy(b1.clone()).await.expect("deploy"),
        Deployed::Unchanged,
        "the same content again is unchanged"
    );
    let mut changed = b1.clone();
    changed.yaml.push_str("# edited\n");
    changed.hash = "another hash".into();
    match store.deploy(changed).await {
        Err(StoreError::BundleExists { id: i, version: 1 }) if i == b1.id => {}
        other => panic!("other content for a deployed id+version must be refused, got {other:?}"),
    }
    assert_eq!(
        store.bundle(&b1.id, 1).await.expect("bundle"),
        Some(b1.clone()),
        "a refused redeploy leaves the first content"
    );
    assert_eq!(store.bundle(&b1.id, 9).await.expect("bundle"), None);
    let listed: Vec<DeployedBundle> = store
        .bundles()
        .await
        .expect("bundles")
        .into_iter()
        .filter(|b| b.id.starts_with(&run.prefix))
        .collect();
    assert_eq!(listed, vec![a1, b1, b2], "bundles list by id then version");
}

async fn open_cases<S: Store>(store: &S, run: &Run) {
    let open_a = run.case("open-a");
    let open_b = run.case("open-b");
    let closed = run.case("closed");
    append(store, commit(&open_a, 0, numbered(0, 2), false), "open a").await;
    append(store, commit(&open_b, 0, numbered(0, 1), false), "open b").await;
    append(store, commit(&closed, 0, numbered(0, 1), false), "to close").await;
    append(store, commit(&closed, 1, numbered(1, 1), true), "close").await;
    let c = commit(&open_b, 1, numbered(1, 2), false);
    let latest_b = c.summary.clone();
    append(store, c, "open b again").await;

    let mut mine: Vec<CaseSummary> = store
        .open_cases()
        .await
        .expect("open_cases")
        .into_iter()
        .filter(|s| s.case_no.as_str().starts_with(&run.prefix))
        .collect();
    mine.sort_by(|a, b| a.case_no.cmp(&b.case_no));
    assert_eq!(
        mine,
        vec![summary(&open_a, 2, "running", false), latest_b],
        "open_cases lists the open cases with their latest summaries, and no closed one"
    );
}

async fn case_count<S: Store>(store: &S, run: &Run) {
    let before = store.case_count().await.expect("case_count");
    for i in 0..3 {
        let no = run.case(&format!("count-{i}"));
        append(store, commit(&no, 0, numbered(0, 1), false), "count").await;
    }
    let refused = run.case("count-refused");
    let _ = store
        .append(commit(&refused, 4, numbered(0, 1), false))
        .await;
    assert_eq!(
        store.case_count().await.expect("case_count"),
        before + 3,
        "case_count counts the cases created (not refused ones)"
    );
}

async fn concurrency<S: Store + Clone>(store: &S, run: &Run) {
    const TASKS: u32 = 50;
    const COMMITS: u32 = 4;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..TASKS {
        let store = store.clone();
        let no = run.case(&format!("concurrent-{i}"));
        set.spawn(async move {
            for k in 0..COMMITS {
                let expected = u64::from(k) * 2;
                let c = commit(&no, expected, numbered(k * 2, 2), k + 1 == COMMITS);
                if let Err(e) = store.append(c).await {
                    panic!("concurrency: {no} commit {k}: {e}");
                }
            }
            no
        });
    }
    let mut cases = Vec::new();
    while let Some(r) = set.join_next().await {
        cases.push(r.expect("a concurrent appender panicked"));
    }
    for no in &cases {
        let (s, events) = read(store, no).await;
        assert!(s.closed);
        assert_eq!(events, numbered(0, COMMITS * 2), "{no} applied in order");
    }
}
