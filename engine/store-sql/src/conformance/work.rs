//! The work tables' contract ([`WorkStore`]): queues, claims, timers, searches, gauges.

use std::sync::Arc;

use yijian_definitions::TaskIdx;
use yijian_engine::case::{UnitStatus, Warning};
use yijian_engine::store::{
    CaseQuery, Claimed, Commit, ReadyClaim, Store, TaskLease, TaskRow, WorkStore,
};
use yijian_engine::{CaseNo, TaskRef};

use super::fixture::{Run, append, numbered, summary, t};

fn row(task: u32, department: &str, state: UnitStatus) -> TaskRow {
    TaskRow {
        region: None,
        task: TaskRef::task(TaskIdx(task)),
        department: Arc::from(department),
        kind: Arc::from(format!("k{task}")),
        state,
        ready_at: None,
        lease: None,
        due: None,
        warning: Warning::Green,
        pushed: false,
        hold_until: None,
    }
}

fn ready(task: u32, department: &str, at: i64) -> TaskRow {
    TaskRow {
        region: None,
        ready_at: Some(t(at)),
        ..row(task, department, UnitStatus::Dispatched)
    }
}

/// A new case with `tasks` rows; its first event at `t(first)`.
fn new_case(case_no: &CaseNo, first: u32, tasks: Vec<TaskRow>) -> Commit {
    Commit {
        case_no: case_no.clone(),
        expected_version: 0,
        lineage: 0,
        events: numbered(first, 2),
        summary: summary(case_no, 2, "running", false),
        idempotency_key: None,
        tasks,
        removed_tasks: Vec::new(),
    }
}

async fn claim<S: WorkStore>(
    store: &S,
    department: &str,
    scope: Option<&str>,
    kinds: &[&str],
    now: i64,
) -> Vec<Claimed> {
    match store
        .claim_ready(&ReadyClaim {
            department: department.to_owned(),
            scope: scope.map(str::to_owned),
            now: t(now),
            hold_until: t(now + 10),
            limit: 10,
            pushed: false,
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
        })
        .await
    {
        Ok(c) => c,
        Err(e) => panic!("claim_ready failed: {e}"),
    }
}

fn units(claimed: &[Claimed]) -> Vec<(String, u32)> {
    claimed
        .iter()
        .map(|c| (c.case_no.to_string(), c.task.task.0))
        .collect()
}

/// Ready units are claimed oldest first, held while claimed, free again after the hold;
/// pushed, leased and accepted units are not claimed until their lease ends (accepted:
/// never); a scope narrows by region; a commit carrying a row ends its hold.
pub(super) async fn queue<S: Store + Clone>(store: &S, run: &Run) {
    let dep = format!("{}-dept", run.prefix);
    let a = run.case("queue-a");
    let b = run.case("queue-b");
    let leased = TaskRow {
        region: None,
        lease: Some(TaskLease {
            token: 7,
            owner: "w".into(),
            expires_at: Some(t(100)),
        }),
        ..ready(2, &dep, 0)
    };
    let accepted = TaskRow {
        region: None,
        lease: Some(TaskLease {
            token: 8,
            owner: "w".into(),
            expires_at: None,
        }),
        ..ready(3, &dep, 0)
    };
    let pushed = TaskRow {
        region: None,
        pushed: true,
        ..ready(4, &dep, 0)
    };
    let rows = vec![
        ready(0, &dep, 5),
        ready(1, &dep, 1),
        leased,
        accepted,
        pushed,
        row(5, &dep, UnitStatus::Waiting),
    ];
    append(store, new_case(&a, 0, rows), "queue: a").await;
    append(store, new_case(&b, 10, vec![ready(0, &dep, 3)]), "queue: b").await;
    let (sa, sb) = (a.to_string(), b.to_string());

    let first = claim(store, &dep, None, &[], 10).await;
    assert_eq!(
        units(&first),
        vec![(sa.clone(), 1), (sb.clone(), 0), (sa.clone(), 0)],
        "ready units, oldest first; not leased, accepted, pushed or waiting ones"
    );
    assert!(
        claim(store, &dep, None, &[], 12).await.is_empty(),
        "claimed units are held for their claimer"
    );
    assert!(
        claim(store, &dep, Some("3201"), &[], 30).await.is_empty(),
        "a scope outside the cases' region claims nothing"
    );
    let again = claim(store, &dep, Some("1101"), &[], 31).await;
    assert_eq!(
        again.len(),
        3,
        "free again once the hold ended, within the scope"
    );
    let late = claim(store, &dep, None, &[], 200).await;
    assert_eq!(
        units(&late),
        vec![
            (sa.clone(), 2),
            (sa.clone(), 1),
            (sb.clone(), 0),
            (sa.clone(), 0)
        ],
        "an expired lease frees its unit; an accepted claim never expires"
    );
    let depths = match store.queue_depths(t(300)).await {
        Ok(d) => d,
        Err(e) => panic!("queue_depths failed: {e}"),
    };
    let mine = depths.iter().find(|d| d.department == dep);
    assert_eq!(
        mine.map(|d| (d.depth, d.oldest)),
        Some((4, Some(t(0)))),
        "queue depth counts the fetchable units"
    );
    // A commit carrying a unit's row ends its hold: leased now, it is locked instead.
    let mut c = Commit {
        case_no: b.clone(),
        expected_version: 2,
        lineage: 0,
        events: numbered(20, 1),
        summary: summary(&b, 3, "running", false),
        idempotency_key: None,
        tasks: vec![TaskRow {
            region: None,
            lease: Some(TaskLease {
                token: 1,
                owner: "w2".into(),
                expires_at: Some(t(1_000)),
            }),
            ..ready(0, &dep, 3)
        }],
        removed_tasks: Vec::new(),
    };
    append(store, c.clone(), "queue: b leased").await;
    let after = claim(store, &dep, None, &[], 500).await;
    assert!(
        !units(&after).contains(&(sb.clone(), 0)),
        "a leased unit is not claimed"
    );
    c.expected_version = 3;
    c.events = numbered(21, 1);
    c.summary = summary(&b, 4, "running", false);
    c.tasks = vec![row(0, &dep, UnitStatus::Approved)];
    append(store, c, "queue: b decided").await;
    assert!(
        !units(&claim(store, &dep, None, &[], 2_000).await).contains(&(sb, 0)),
        "a decided unit is never claimed"
    );
    let owed = match store
        .claim_ready(&ReadyClaim {
            department: dep.clone(),
            scope: None,
            now: t(3_000),
            hold_until: t(3_010),
            limit: 10,
            pushed: true,
            kinds: Vec::new(),
        })
        .await
    {
        Ok(c) => c,
        Err(e) => panic!("claim_ready of pushed units failed: {e}"),
    };
    assert_eq!(
        units(&owed),
        vec![(sa.clone(), 4)],
        "a claim of pushed units takes the deliveries owed, and only them"
    );
    let redo = match store.dispatched(&[], t(4_000), 10_000).await {
        Ok(r) => r,
        Err(e) => panic!("dispatched failed: {e}"),
    };
    assert!(
        redo.iter()
            .any(|c| c.case_no == a && c.task == TaskRef::task(TaskIdx(4))),
        "a pushed unit is listed for handing over again"
    );
    let by_dep = match store
        .dispatched(std::slice::from_ref(&dep), t(4_000), 10_000)
        .await
    {
        Ok(r) => r,
        Err(e) => panic!("dispatched failed: {e}"),
    };
    assert!(
        by_dep
            .iter()
            .any(|c| c.case_no == a && c.task == TaskRef::task(TaskIdx(0))),
        "a queued unit of a department now bound to an adapter is listed too"
    );
    let narrowed = claim(store, &dep, None, &["k2", "k9"], 5_000).await;
    assert_eq!(
        units(&narrowed),
        vec![(sa.clone(), 2)],
        "a claim narrowed to kinds takes units of those kinds only"
    );
    let rest = claim(store, &dep, None, &[], 5_001).await;
    assert!(
        !units(&rest).contains(&(sa.clone(), 2)) && units(&rest).contains(&(sa.clone(), 1)),
        "the other kinds stay free for other claims; the narrowed claim holds its own"
    );
    // A unit reassigned to another region (改派) is in that region's queue, not the case's.
    let moved_dep = format!("{}-moved", run.prefix);
    let m = run.case("queue-moved");
    let moved = TaskRow {
        region: Some(Arc::from("320105")),
        ..ready(0, &moved_dep, 6_000)
    };
    append(store, new_case(&m, 0, vec![moved]), "queue: moved").await;
    assert!(
        claim(store, &moved_dep, Some("1101"), &[], 6_001)
            .await
            .is_empty(),
        "the case's region no longer claims a unit reassigned out of it"
    );
    assert_eq!(
        units(&claim(store, &moved_dep, Some("3201"), &[], 6_002).await),
        vec![(m.to_string(), 0)],
        "the unit's own region claims it"
    );
    // A migration renumbered the case's tasks: the rows of units that are gone go.
    let gone = Commit {
        expected_version: 2,
        events: numbered(3, 1),
        summary: summary(&m, 3, "running", false),
        tasks: Vec::new(),
        removed_tasks: vec![TaskRef::task(TaskIdx(0))],
        ..new_case(&m, 0, Vec::new())
    };
    append(store, gone, "queue: removed").await;
    assert!(
        claim(store, &moved_dep, None, &[], 7_000).await.is_empty(),
        "a removed unit's row is gone"
    );
}

/// Due timers are claimed earliest first and held; a later commit re-arms the case.
pub(super) async fn timers<S: Store + Clone>(store: &S, run: &Run) {
    let no = run.case("timer");
    let mut c = new_case(&no, 0, Vec::new());
    c.summary.next_timer = Some(t(5));
    append(store, c, "timers: armed").await;
    let claim = |now: i64| async move {
        match store.claim_timers(t(now), t(now + 10), 10_000).await {
            Ok(due) => due,
            Err(e) => panic!("claim_timers failed: {e}"),
        }
    };
    let has = |due: &[(CaseNo, jiff::Timestamp)]| due.iter().any(|(c, _)| *c == no);
    assert!(!has(&claim(4).await), "not due before its time");
    let due = claim(6).await;
    assert!(
        due.iter().any(|(c, at)| *c == no && *at == t(5)),
        "due at its time, with that time"
    );
    assert!(!has(&claim(7).await), "held for the claimer");
    assert!(has(&claim(20).await), "claimable again once the hold ended");
    match store.next_timer().await {
        Ok(Some(_)) => {}
        other => panic!("next_timer: expected a timer, got {other:?}"),
    }
    let mut c = new_case(&no, 0, Vec::new());
    c.expected_version = 2;
    c.events = numbered(2, 1);
    c.summary = summary(&no, 3, "running", false);
    c.summary.next_timer = Some(t(50));
    append(store, c, "timers: re-armed").await;
    assert!(
        !has(&claim(31).await),
        "the commit moved the timer (and ended the hold)"
    );
    assert!(has(&claim(51).await), "the new time is claimed");
}

/// Searches filter by region, bundle, status, warning, department and unit state, newest
/// first, with counts, offsets and keyset pages; versions read back.
pub(super) async fn search<S: Store + Clone>(store: &S, run: &Run) {
    let dep = format!("{}-sdept", run.prefix);
    let bundle = format!("{}-bundle", run.prefix);
    let mk = |name: &str, first: u32, status: &str, closed: bool, warning: Warning| {
        let no = run.case(name);
        let mut c = new_case(&no, first, vec![ready(0, &dep, 0)]);
        c.summary = summary(&no, 2, status, closed);
        c.summary.bundle = Arc::from(bundle.as_str());
        c.summary.warning = warning;
        (no, c)
    };
    let (old, c1) = mk("s-old", 1, "running", false, Warning::Red);
    let (mid, mut c2) = mk("s-mid", 3, "completed", true, Warning::Red);
    c2.tasks = vec![row(0, &dep, UnitStatus::Incident)];
    let (new, mut c3) = mk("s-new", 5, "running", false, Warning::Yellow);
    c3.summary.region = Arc::from("320106");
    c3.summary.channel = Some(Arc::from("window"));
    for c in [c1, c2, c3] {
        append(store, c, "search: cases").await;
    }
    let find = |q: CaseQuery| async move {
        match store.search(&q).await {
            Ok(p) => p,
            Err(e) => panic!("search failed: {e}"),
        }
    };
    let q = || CaseQuery {
        bundle: Some(bundle.clone()),
        limit: 10,
        count: true,
        ..CaseQuery::default()
    };
    let nos = |p: &yijian_engine::store::CasePage| {
        p.cases
            .iter()
            .map(|c| c.case_no.clone())
            .collect::<Vec<_>>()
    };
    let by_window = find(CaseQuery {
        channel: Some("window".into()),
        ..q()
    })
    .await;
    assert_eq!(
        nos(&by_window),
        vec![new.clone()],
        "a channel narrows the search"
    );
    let by_portal = find(CaseQuery {
        channel: Some("portal".into()),
        ..q()
    })
    .await;
    assert_eq!(nos(&by_portal), vec![mid.clone(), old.clone()]);
    let all = find(q()).await;
    assert_eq!(
        nos(&all),
        vec![new.clone(), mid.clone(), old.clone()],
        "newest first"
    );
    assert_eq!(all.total, Some(3), "counted");
    let running = find(CaseQuery {
        status: Some("running".into()),
        ..q()
    })
    .await;
    assert_eq!(nos(&running), vec![new.clone(), old.clone()], "by status");
    let red = find(CaseQuery {
        warning: Some(Warning::Red),
        ..q()
    })
    .await;
    assert_eq!(nos(&red), vec![old.clone()], "by warning, open cases only");
    let region = find(CaseQuery {
        region: Some("3201".into()),
        ..q()
    })
    .await;
    assert_eq!(nos(&region), vec![new.clone()], "by region prefix");
    let incident = find(CaseQuery {
        department: Some(dep.clone()),
        task_state: Some(UnitStatus::Incident),
        ..q()
    })
    .await;
    assert_eq!(
        nos(&incident),
        vec![mid.clone()],
        "by a unit's department and state"
    );
    let kind = |k: &str| CaseQuery {
        task_kind: Some(k.into()),
        task_state: Some(UnitStatus::Incident),
        ..q()
    };
    assert_eq!(
        nos(&find(kind("k0")).await),
        vec![mid.clone()],
        "by a unit's kind"
    );
    assert!(
        nos(&find(kind("k9")).await).is_empty(),
        "no unit of that kind"
    );
    let page1 = find(CaseQuery { limit: 2, ..q() }).await;
    assert_eq!(nos(&page1), vec![new.clone(), mid.clone()], "a first page");
    let page2 = find(CaseQuery {
        limit: 2,
        before: Some(mid.clone()),
        ..q()
    })
    .await;
    assert_eq!(nos(&page2), vec![old.clone()], "the keyset page after it");
    let offset = find(CaseQuery {
        limit: 2,
        offset: 2,
        ..q()
    })
    .await;
    assert_eq!(nos(&offset), vec![old.clone()], "the offset page after it");
    let unknown = find(CaseQuery {
        before: Some(run.case("nowhere")),
        ..q()
    })
    .await;
    assert!(
        unknown.cases.is_empty(),
        "an unknown keyset case gives an empty page"
    );
    match store.version(&old).await {
        Ok(Some(2)) => {}
        other => panic!("version of a stored case: expected Some(2), got {other:?}"),
    }
    match store.version(&run.case("nowhere")).await {
        Ok(None) => {}
        other => panic!("version of an unknown case: expected None, got {other:?}"),
    }
    let g = match store.gauges().await {
        Ok(g) => g,
        Err(e) => panic!("gauges failed: {e}"),
    };
    let of = |state: UnitStatus| {
        g.tasks
            .iter()
            .find(|(d, s, _)| *d == dep && *s == state)
            .map(|(_, _, n)| *n)
    };
    assert_eq!(
        of(UnitStatus::Dispatched),
        Some(2),
        "units counted by department and state"
    );
    assert_eq!(
        of(UnitStatus::Incident),
        Some(1),
        "units counted by department and state"
    );
    assert!(
        g.cases.iter().any(|(s, n)| s == "completed" && *n >= 1),
        "cases counted by status"
    );
    assert!(
        g.warnings
            .iter()
            .any(|(w, n)| *w == Warning::Yellow && *n >= 1),
        "open cases counted by warning"
    );
}

/// The board counts open warned cases and unsettled warned units within a region subtree
/// only; green, closed and settled ones are not counted.
pub(super) async fn board<S: Store + Clone>(store: &S, run: &Run) {
    // A region of this run's own (the SQLite file is shared by every check of the suite).
    let nanos = jiff::Timestamp::now().as_nanosecond().rem_euclid(1_000_000);
    let city = format!("9{nanos:06}{}", run.prefix.len() % 10);
    let mk = |name: &str, district: &str, closed: bool, warning: Warning, tasks: Vec<TaskRow>| {
        let no = run.case(name);
        let mut c = new_case(&no, 1, tasks);
        c.summary.region = Arc::from(format!("{city}{district}"));
        c.summary.closed = closed;
        c.summary.warning = warning;
        c
    };
    let warned = |task: u32, department: &str, state: UnitStatus, warning: Warning| TaskRow {
        region: None,
        warning,
        ..row(task, department, state)
    };
    let commits = [
        mk(
            "b-red",
            "01",
            false,
            Warning::Red,
            vec![
                warned(0, "market", UnitStatus::Dispatched, Warning::Red),
                warned(1, "fire", UnitStatus::Waiting, Warning::Yellow),
                warned(2, "fire", UnitStatus::Approved, Warning::Red),
            ],
        ),
        mk(
            "b-yellow",
            "02",
            false,
            Warning::Yellow,
            vec![warned(
                0,
                "market",
                UnitStatus::SupplementRequested,
                Warning::Yellow,
            )],
        ),
        mk(
            "b-green",
            "01",
            false,
            Warning::Green,
            vec![row(0, "market", UnitStatus::Dispatched)],
        ),
        mk("b-closed", "01", true, Warning::Red, vec![]),
    ];
    for c in commits {
        append(store, c, "board setup").await;
    }
    let board = |region: String| async move {
        match store.board(&region).await {
            Ok(b) => b,
            Err(e) => panic!("board({region}) failed: {e}"),
        }
    };
    let all = board(city.clone()).await;
    assert_eq!(
        all.cases,
        vec![(Warning::Yellow, 1), (Warning::Red, 1)],
        "open warned cases of the city"
    );
    assert_eq!(
        all.tasks,
        vec![
            ("fire".to_owned(), Warning::Yellow, 1),
            ("market".to_owned(), Warning::Yellow, 1),
            ("market".to_owned(), Warning::Red, 1),
        ],
        "unsettled warned units by department"
    );
    let district = board(format!("{city}01")).await;
    assert_eq!(district.cases, vec![(Warning::Red, 1)], "one district only");
    assert_eq!(
        district.tasks,
        vec![
            ("fire".to_owned(), Warning::Yellow, 1),
            ("market".to_owned(), Warning::Red, 1),
        ]
    );
    let elsewhere = board(format!("{city}09")).await;
    assert!(
        elsewhere.cases.is_empty() && elsewhere.tasks.is_empty(),
        "{elsewhere:?}"
    );
}
