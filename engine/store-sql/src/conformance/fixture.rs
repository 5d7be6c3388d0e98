//! Fixtures of the conformance suite: unique names, events of every kind, commits.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use serde_json::json;
use yijian_definitions::TaskIdx;
use yijian_engine::store::{CaseSummary, Commit, Store, StoreError};
use yijian_engine::{Actor, CaseNo, Event, EventKind, TaskRef};

/// Names unique to one run of one check.
pub(super) struct Run {
    pub(super) prefix: String,
}

impl Run {
    pub(super) fn new() -> Run {
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

    pub(super) fn case(&self, name: &str) -> CaseNo {
        CaseNo::new(format!("{}-{name}", self.prefix))
    }
}

pub(super) fn t(seconds: i64) -> Timestamp {
    // Nanoseconds on purpose: timestamps must come back exactly.
    Timestamp::new(1_780_000_000 + seconds, 123_456_789).expect("a valid timestamp")
}

/// An event of (nearly) each kind, numbered from `from` (the number is in the events, so
/// that misordered or lost events show). Written as the JSON the engine serialises, so the
/// fixture follows the event format rather than its Rust constructors.
pub(super) fn every_kind(from: u32) -> Vec<Event> {
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
pub(super) fn numbered(from: u32, n: u32) -> Vec<Event> {
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

pub(super) fn summary(case_no: &CaseNo, count: u64, status: &str, closed: bool) -> CaseSummary {
    CaseSummary {
        case_no: case_no.clone(),
        bundle: "conformance".into(),
        version: 3,
        region: "110105".into(),
        status: Cow::Owned(status.to_owned()),
        closed,
        event_count: count,
        accepted_at: Some(t(0)),
        next_timer: None,
        warning: Default::default(),
        due: None,
        channel: Some("portal".into()),
    }
}

pub(super) fn commit(case_no: &CaseNo, expected: u64, events: Vec<Event>, closed: bool) -> Commit {
    let count = expected + events.len() as u64;
    let status = if closed { "completed" } else { "running" };
    Commit {
        case_no: case_no.clone(),
        expected_version: expected,
        lineage: 0,
        events,
        summary: summary(case_no, count, status, closed),
        idempotency_key: None,
        tasks: Vec::new(),
        removed_tasks: Vec::new(),
    }
}

pub(super) async fn append<S: Store>(store: &S, c: Commit, what: &str) {
    if let Err(e) = store.append(c).await {
        panic!("{what}: append failed: {e}");
    }
}

pub(super) async fn read<S: Store>(store: &S, case_no: &CaseNo) -> (CaseSummary, Vec<Event>) {
    match store.read(case_no).await {
        Ok(Some(r)) => r,
        Ok(None) => panic!("read {case_no}: the case is unknown"),
        Err(e) => panic!("read {case_no}: {e}"),
    }
}

pub(super) fn assert_conflict(
    r: Result<(), StoreError>,
    case_no: &CaseNo,
    expected: u64,
    found: u64,
) {
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
