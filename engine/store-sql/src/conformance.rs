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

mod fixture;
mod work;

use std::borrow::Cow;
use std::future::Future;

use yijian_engine::CaseNo;
use yijian_engine::store::{CaseSummary, Deployed, DeployedBundle, KeyedCase, Store, StoreError};

use self::fixture::{Run, append, assert_conflict, commit, every_kind, numbered, read, summary};

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
    /// A commit decided on top of a refused one (same lineage, higher version) is refused
    /// too, in the same batch or a later one, even when its version matches the store's
    /// (another node's events reached it); commits of other lineages are not.
    Lineage,
    /// `case_for_key` finds the case a key created, with the event count of its creating
    /// commit (also when later commits follow it at once); a second case with the same key
    /// is refused with `Conflict` and the first keeps the key.
    IdempotencyKey,
    /// id+version is immutable: same content `Unchanged`, other content `BundleExists`;
    /// `bundles` lists by id then version.
    Bundles,
    /// `open_cases` lists the cases not closed, with their latest summaries.
    OpenCases,
    /// `cases` lists every case, open or closed, with its latest summary, page by page in
    /// creation order: by the time of its first event, then by case number.
    Listing,
    /// `case_count` counts the cases created.
    CaseCount,
    /// Many cases appended concurrently from many tasks all apply, each in order.
    Concurrency,
    /// Department queues from the task rows: ready units claimed oldest first and held;
    /// pushed, leased and accepted units not claimed; scopes; holds ended by commits.
    Queue,
    /// Timers from the case rows: claimed when due, held, moved by later commits.
    Timers,
    /// The supervisor's board: warned open cases and warned unsettled units, by department,
    /// within a region subtree.
    Board,
    /// Searches by every filter, newest first, counted, offset and keyset pages; versions;
    /// gauges.
    Search,
}

impl Check {
    /// Every check, in the order [`run_all`] runs them.
    pub const ALL: &'static [Check] = &[
        Check::ReadBack,
        Check::Ordering,
        Check::Conflict,
        Check::Lineage,
        Check::IdempotencyKey,
        Check::Bundles,
        Check::OpenCases,
        Check::Listing,
        Check::CaseCount,
        Check::Concurrency,
        Check::Queue,
        Check::Timers,
        Check::Search,
        Check::Board,
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
        Check::Lineage => lineage(&store, &run).await,
        Check::IdempotencyKey => idempotency_key(&store, &run).await,
        Check::Bundles => bundles(&store, &run).await,
        Check::OpenCases => open_cases(&store, &run).await,
        Check::Listing => listing(&store, &run).await,
        Check::CaseCount => case_count(&store, &run).await,
        Check::Concurrency => concurrency(&store, &run).await,
        Check::Queue => work::queue(&store, &run).await,
        Check::Timers => work::timers(&store, &run).await,
        Check::Search => work::search(&store, &run).await,
        Check::Board => work::board(&store, &run).await,
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
    assert_eq!(
        s.event_count,
        n as u64 + 3,
        "event_count counts every event"
    );
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

async fn lineage<S: Store>(store: &S, run: &Run) {
    let no = run.case("lineage");
    let of = |expected: u32, lineage: u64| {
        let mut c = commit(&no, expected.into(), numbered(expected, 1), false);
        c.lineage = lineage;
        c
    };
    append(
        store,
        commit(&no, 0, numbered(0, 3), false),
        "lineage setup",
    )
    .await;
    // Another node moves the case to 4 first.
    append(store, of(3, 2), "the other node's commit").await;
    // This node decided at 3 and then, on top of that, at 4: both refused, though the
    // second's version is the store's now.
    let first = store.append(of(3, 1));
    let on_top = store.append(of(4, 1));
    assert_conflict(first.await, &no, 3, 4);
    assert!(
        matches!(on_top.await, Err(StoreError::Conflict { .. })),
        "a commit decided on top of a refused one is refused"
    );
    let later = store.append(of(5, 1)).await;
    assert!(
        matches!(later, Err(StoreError::Conflict { .. })),
        "and so is one handed over after the refusal was answered"
    );
    let stored = store.append(of(4, 1)).await;
    assert!(
        matches!(stored, Err(StoreError::Conflict { .. })),
        "the refused lineage stays refused at the store's version"
    );
    // A copy read from the store again (a new lineage) commits.
    append(store, of(4, 3), "a fresh lineage's commit").await;
    append(store, of(5, 0), "a commit without lineage").await;
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
    let keyed = |case_no: &CaseNo, created: u64| {
        Some(KeyedCase {
            case_no: case_no.clone(),
            created_events: Some(created),
        })
    };
    let mut c = commit(&first, 0, numbered(0, 2), false);
    c.idempotency_key = Some(key.clone());
    append(store, c, "idempotency key").await;
    assert_eq!(
        store.case_for_key(&key).await.expect("case_for_key"),
        keyed(&first, 2),
        "the key names the case it created, and the creating commit's event count"
    );
    // Later commits carry no key; the case keeps it, and its creation count.
    append(
        store,
        commit(&first, 2, numbered(2, 1), true),
        "after the key",
    )
    .await;
    assert_eq!(
        store.case_for_key(&key).await.expect("case_for_key"),
        keyed(&first, 2),
        "the key and the creation count survive later commits"
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
        keyed(&first, 2),
        "the first case keeps its key"
    );
    assert!(
        store.read(&second).await.expect("read").is_none(),
        "the refused case is not written"
    );

    // A creation and the commits after it handed over back to back (a group-committing
    // store may write them in one transaction): the count is still the creation's.
    let key = format!("{}-key-batched", run.prefix);
    let third = run.case("key-batched");
    let mut c = commit(&third, 0, numbered(0, 3), false);
    c.idempotency_key = Some(key.clone());
    let created = store.append(c);
    let next = store.append(commit(&third, 3, numbered(3, 2), false));
    let last = store.append(commit(&third, 5, numbered(5, 1), true));
    for (what, p) in [("creation", created), ("next", next), ("last", last)] {
        if let Err(e) = p.await {
            panic!("idempotency key, back to back: the {what} commit failed: {e}");
        }
    }
    assert_eq!(
        store.case_for_key(&key).await.expect("case_for_key"),
        keyed(&third, 3),
        "the creation count is the creating commit's, not the case's"
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

async fn listing<S: Store>(store: &S, run: &Run) {
    // Created in this order of calls, but with first events at these times (seconds), so
    // that creation order is neither call order nor case-number order.
    let plan = [
        ("list-a", 30),
        ("list-b", 10),
        ("list-e", 20),
        ("list-c", 20),
        ("list-d", 20),
    ];
    for (name, at) in plan {
        let no = run.case(name);
        append(store, commit(&no, 0, numbered(at, 2), false), "listing").await;
    }
    // Later commits move the summary on, not the creation.
    let c = run.case("list-c");
    append(
        store,
        commit(&c, 2, numbered(0, 1), true),
        "listing: close c",
    )
    .await;
    let e = run.case("list-e");
    let late = commit(&e, 2, numbered(1, 2), false);
    let latest_e = late.summary.clone();
    append(store, late, "listing: e again").await;

    let mut mine = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut after: Option<CaseNo> = None;
    loop {
        let page = store.cases(after.as_ref(), 3).await.expect("cases");
        assert!(page.len() <= 3, "a page holds at most `limit` cases");
        for s in &page {
            assert!(seen.insert(s.case_no.clone()), "{} listed twice", s.case_no);
        }
        mine.extend(
            page.iter()
                .filter(|s| s.case_no.as_str().starts_with(&run.prefix))
                .cloned(),
        );
        match page.last() {
            Some(last) if page.len() == 3 => after = Some(last.case_no.clone()),
            _ => break,
        }
    }
    let names: Vec<&str> = mine
        .iter()
        .map(|s| &s.case_no.as_str()[run.prefix.len() + 1..])
        .collect();
    assert_eq!(
        names,
        ["list-b", "list-c", "list-d", "list-e", "list-a"],
        "every case, by the time of its first event, then by case number"
    );
    assert_eq!(
        mine[1],
        summary(&c, 3, "completed", true),
        "a closed case is listed, with its latest summary"
    );
    assert_eq!(mine[3], latest_e, "an open case has its latest summary");
    assert!(
        store
            .cases(Some(&run.case("never-written")), 3)
            .await
            .expect("cases")
            .is_empty(),
        "a page after an unknown case is empty"
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
