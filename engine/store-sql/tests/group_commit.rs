use std::borrow::Cow;
use std::time::Duration;

use yijian_engine::store::{CaseStore, CaseSummary, Commit, EventLog, StoreError};
use yijian_engine::{Actor, CaseNo, Event, EventKind};
use yijian_store_sql::{SqlOptions, SqlStore};

use crate::support;

fn commit(case_no: &CaseNo, expected: u64, n: u64, key: Option<&str>) -> Commit {
    Commit {
        case_no: case_no.clone(),
        expected_version: expected,
        lineage: 0,
        events: (0..n)
            .map(|i| Event {
                at: jiff::Timestamp::UNIX_EPOCH,
                actor: Actor::Engine,
                reason: Some(format!("{}", expected + i + 1)),
                kind: EventKind::CaseWithdrawn,
            })
            .collect(),
        summary: CaseSummary {
            case_no: case_no.clone(),
            bundle: "b".into(),
            version: 1,
            region: "r".into(),
            status: Cow::Borrowed("running"),
            closed: false,
            event_count: expected + n,
            accepted_at: None,
            next_timer: None,
            warning: Default::default(),
            due: None,
            channel: None,
        },
        idempotency_key: key.map(str::to_owned),
        tasks: Vec::new(),
        removed_tasks: Vec::new(),
    }
}

fn is_conflict(r: &Result<(), StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict { .. }))
}

/// Everything below is handed over within one long batch window, so the in-batch rules
/// (not only the stored versions) are exercised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_batch_checks_each_commit_against_the_ones_before_it() {
    let store = SqlStore::connect_with(
        "sqlite::memory:",
        SqlOptions::default().max_delay(Duration::from_millis(50)),
    )
    .await
    .expect("connect");
    let (a, b, c) = (CaseNo::new("A"), CaseNo::new("B"), CaseNo::new("C"));
    let calls = vec![
        store.append(commit(&a, 0, 2, None)),       // ok: A 0→2
        store.append(commit(&a, 2, 1, None)),       // ok: A 2→3, on the previous one
        store.append(commit(&a, 7, 1, None)),       // conflict: A is at 3
        store.append(commit(&a, 3, 1, None)),       // ok: A 3→4
        store.append(commit(&a, 0, 1, None)),       // conflict: A exists
        store.append(commit(&b, 0, 1, Some("k"))),  // ok: B takes key k
        store.append(commit(&c, 0, 1, Some("k"))),  // conflict: key k is B's
        store.append(commit(&c, 0, 1, Some("k2"))), // ok: C with another key
    ];
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(call.await);
    }
    let ok: Vec<bool> = outcomes.iter().map(Result::is_ok).collect();
    assert_eq!(
        ok,
        [true, true, false, true, false, true, false, true],
        "{outcomes:?}"
    );
    assert!(outcomes.iter().filter(|r| r.is_err()).all(is_conflict));
    match &outcomes[2] {
        Err(StoreError::Conflict {
            expected: 7,
            found: 3,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store
            .read(&a)
            .await
            .expect("read")
            .expect("A")
            .0
            .event_count,
        4
    );
    let b_key = store.case_for_key("k").await.expect("key");
    assert_eq!(
        b_key.map(|k| (k.case_no, k.created_events)),
        Some((b.clone(), Some(1)))
    );
    let c_key = store.case_for_key("k2").await.expect("key");
    assert_eq!(c_key.map(|k| k.case_no), Some(c.clone()));
    assert_eq!(store.case_count().await.expect("count"), 3);
    assert_eq!(store.verify(None).await.expect("verify"), vec![]);
    // Every commit handed over was in a committed transaction, refused ones included.
    let stats = store
        .commit_stats()
        .expect("the SQL store counts its transactions");
    assert_eq!(stats.commits(), 8, "{stats:?}");
    assert!((1..=8).contains(&stats.transactions()), "{stats:?}");
    assert_eq!(
        stats.buckets().last(),
        Some(&(None, stats.transactions())),
        "the +Inf bucket counts every transaction"
    );
}

/// Two stores on one database stand for two nodes: each case's commits race, each node
/// retries on `Conflict` from what it reads; every commit applies exactly once and every
/// chain is intact.
async fn two_nodes(first: SqlStore, second: SqlStore, prefix: &str) {
    const CASES: usize = 10;
    const PER_NODE: usize = 15;
    let cases: Vec<CaseNo> = (0..CASES)
        .map(|i| CaseNo::new(format!("{prefix}-{i}")))
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for store in [first.clone(), second.clone()] {
        for no in cases.clone() {
            let store = store.clone();
            set.spawn(async move {
                let mut done = 0;
                let mut conflicts = 0;
                while done < PER_NODE {
                    let at = match store.read(&no).await.expect("read") {
                        Some((s, _)) => s.event_count,
                        None => 0,
                    };
                    match store.append(commit(&no, at, 1, None)).await {
                        Ok(()) => done += 1,
                        Err(StoreError::Conflict { .. }) => conflicts += 1,
                        Err(e) => panic!("{no}: {e}"),
                    }
                }
                conflicts
            });
        }
    }
    let mut conflicts = 0;
    while let Some(r) = set.join_next().await {
        conflicts += r.expect("a node panicked");
    }
    println!("two nodes: {conflicts} conflicts refused and retried");
    for no in &cases {
        let (s, events) = first.read(no).await.expect("read").expect("case");
        assert_eq!(
            s.event_count,
            (2 * PER_NODE) as u64,
            "{no}: every commit applied once"
        );
        let seqs: Vec<String> = events.iter().filter_map(|e| e.reason.clone()).collect();
        let want: Vec<String> = (1..=2 * PER_NODE).map(|i| i.to_string()).collect();
        assert_eq!(
            seqs, want,
            "{no}: each event was decided on the version before it"
        );
    }
    assert_eq!(second.verify(None).await.expect("verify"), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_sqlite_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = support::sqlite_url(dir.path());
    let first = SqlStore::connect(&url).await.expect("connect");
    let second = SqlStore::connect(&url).await.expect("connect");
    two_nodes(first, second, "N").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres() {
    let Some(url) = support::database_url("group_commit::two_nodes_on_one_postgres") else {
        return;
    };
    let schema = support::fresh_schema();
    let first = support::pg_store(&url, &schema).await;
    let second = support::pg_store(&url, &schema).await;
    two_nodes(first, second, "N").await;
    support::drop_schema(&url, &schema).await;
}
