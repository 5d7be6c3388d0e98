use std::borrow::Cow;

use jiff::Timestamp;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use yijian_engine::store::{CaseSummary, Commit, EventLog, StoreError};
use yijian_engine::{Actor, CaseNo, Event, EventKind, TaskRef};
use yijian_store_sql::{BrokenLink, SqlStore};

use crate::support::{self, exec};

fn event(n: u32) -> Event {
    Event {
        at: Timestamp::from_second(1_780_000_000 + i64::from(n)).expect("time"),
        actor: Actor::Engine,
        reason: Some(format!("#{n}")),
        kind: EventKind::TaskSkipped {
            task: TaskRef::task(yijian_definitions::TaskIdx(n)),
        },
    }
}

fn commit(case_no: &CaseNo, expected: u64, n: u32) -> Commit {
    let events: Vec<Event> = (0..n).map(|i| event(expected as u32 + i + 1)).collect();
    Commit {
        case_no: case_no.clone(),
        expected_version: expected,
        lineage: 0,
        summary: CaseSummary {
            case_no: case_no.clone(),
            bundle: "b".into(),
            version: 1,
            region: "r".into(),
            status: Cow::Borrowed("running"),
            closed: false,
            event_count: expected + u64::from(n),
            accepted_at: None,
            next_timer: None,
            warning: Default::default(),
            due: None,
            channel: None,
        },
        events,
        idempotency_key: None,
        tasks: Vec::new(),
        removed_tasks: Vec::new(),
    }
}

/// Four cases of three events each (written in two commits); returns their numbers.
async fn fill(store: &SqlStore) -> Vec<CaseNo> {
    let cases: Vec<CaseNo> = ["A", "B", "C", "D"]
        .iter()
        .map(|c| CaseNo::new(*c))
        .collect();
    for c in &cases {
        store.append(commit(c, 0, 2)).await.expect("append");
        store.append(commit(c, 2, 1)).await.expect("append");
    }
    cases
}

fn sha(prev: &str, seq: u64, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(seq.to_be_bytes());
    h.update(body.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn corrupt_message(r: Result<impl std::fmt::Debug, StoreError>) -> String {
    match r {
        Err(StoreError::Corrupt { message }) => message,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// `fresh` is a second store on the same database, which has not written these cases itself.
async fn tampering(store: &SqlStore, fresh: &SqlStore, raw: &DatabaseConnection) {
    let cases = fill(store).await;
    let (a, b, c, d) = (&cases[0], &cases[1], &cases[2], &cases[3]);
    assert_eq!(store.verify(None).await.expect("verify"), vec![], "intact");
    assert_eq!(store.verify(Some(a)).await.expect("verify"), vec![]);
    assert_eq!(
        store
            .verify(Some(&CaseNo::new("unknown")))
            .await
            .expect("verify"),
        vec![]
    );

    // A: an edited body that still parses.
    let n = exec(
        raw,
        r##"UPDATE events SET body = REPLACE(body, '"reason":"#2"', '"reason":"#7"') WHERE case_no = 'A' AND seq = 2"##,
    )
    .await;
    assert_eq!(n, 1);
    // B: an edited hash.
    exec(
        raw,
        &format!(
            "UPDATE events SET hash = '{}' WHERE case_no = 'B' AND seq = 1",
            "f".repeat(64)
        ),
    )
    .await;
    // D: the last event removed (the case row still counts it).
    exec(raw, "DELETE FROM events WHERE case_no = 'D' AND seq = 3").await;

    let breaks = store.verify(None).await.expect("verify");
    assert_eq!(breaks.len(), 3, "{breaks:?}");
    assert_eq!((&breaks[0].case_no, breaks[0].seq), (a, 2));
    assert!(
        matches!(&breaks[0].link, BrokenLink::Hash { expected, found } if expected != found),
        "{:?}",
        breaks[0]
    );
    assert_eq!((&breaks[1].case_no, breaks[1].seq), (b, 1));
    match &breaks[1].link {
        BrokenLink::Hash { found, .. } => assert_eq!(found, &"f".repeat(64)),
        other => panic!("{other:?}"),
    }
    assert_eq!((&breaks[2].case_no, breaks[2].seq), (d, 3));
    assert_eq!(
        breaks[2].link,
        BrokenLink::Count {
            expected: 2,
            found: 3
        }
    );
    assert_eq!(
        store.verify(Some(a)).await.expect("verify"),
        vec![breaks[0].clone()]
    );
    println!("audit: {}", breaks[0]);

    let m = corrupt_message(store.read(a).await);
    assert!(m.contains("case A event 2"), "{m}");
    let m = corrupt_message(store.read(b).await);
    assert!(m.contains("case B event 1"), "{m}");
    let m = corrupt_message(store.read(d).await);
    assert!(m.contains("case D"), "{m}");
    // Appending after D's missing event is refused for D alone.
    let on_d = fresh.append(commit(d, 3, 1));
    let other = fresh.append(commit(&CaseNo::new("E"), 0, 1));
    let m = corrupt_message(on_d.await);
    assert!(m.contains("case D: event 3"), "{m}");
    other
        .await
        .expect("another case in the same batch is written");

    // C is untouched and still reads.
    assert_eq!(store.read(c).await.expect("read").expect("C").1.len(), 3);

    // C: a body that does not parse, rehashed so that its chain is intact: not a tamper
    // the chain can see, but never skipped either.
    let prev: String = {
        use sea_orm::{ConnectionTrait, Statement};
        let row = raw
            .query_one_raw(Statement::from_string(
                raw.get_database_backend(),
                "SELECT hash FROM events WHERE case_no = 'C' AND seq = 2",
            ))
            .await
            .expect("query")
            .expect("row");
        row.try_get_by_index(0).expect("hash")
    };
    let garbage = r#"{"event":"no_such_event"}"#;
    exec(
        raw,
        &format!(
            "UPDATE events SET body = '{garbage}', hash = '{}' WHERE case_no = 'C' AND seq = 3",
            sha(&prev, 3, garbage)
        ),
    )
    .await;
    let m = corrupt_message(store.verify(Some(c)).await);
    assert!(m.contains("case C event 3"), "{m}");
    let m = corrupt_message(store.verify(None).await);
    assert!(m.contains("case C event 3"), "{m}");
    let m = corrupt_message(store.read(c).await);
    assert!(
        m.contains("case C event 3") && m.contains("does not parse"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tampering_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = support::sqlite_url(dir.path());
    let store = SqlStore::connect(&url).await.expect("connect");
    let fresh = SqlStore::connect(&url).await.expect("connect");
    let raw = support::raw(&url, None).await;
    tampering(&store, &fresh, &raw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tampering_is_caught() {
    let Some(url) = support::database_url("audit::postgres") else {
        return;
    };
    let schema = support::fresh_schema();
    let store = support::pg_store(&url, &schema).await;
    let fresh = support::pg_store(&url, &schema).await;
    let raw = support::raw(&url, Some(&schema)).await;
    tampering(&store, &fresh, &raw).await;
    support::drop_schema(&url, &schema).await;
}

#[tokio::test]
async fn stored_hashes_follow_the_documented_recipe() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = support::sqlite_url(dir.path());
    let store = SqlStore::connect(&url).await.expect("connect");
    let no = CaseNo::new("R");
    store.append(commit(&no, 0, 2)).await.expect("append");
    store.append(commit(&no, 2, 2)).await.expect("append");
    let raw = support::raw(&url, None).await;
    use sea_orm::{ConnectionTrait, Statement};
    let rows = raw
        .query_all_raw(Statement::from_string(
            raw.get_database_backend(),
            "SELECT seq, body, prev_hash, hash FROM events WHERE case_no = 'R' ORDER BY seq",
        ))
        .await
        .expect("query");
    assert_eq!(rows.len(), 4);
    let (_, events) = store.read(&no).await.expect("read").expect("case");
    let mut prev = "0".repeat(64);
    for (row, event) in rows.iter().zip(&events) {
        let seq: i64 = row.try_get_by_index(0).expect("seq");
        let body: String = row.try_get_by_index(1).expect("body");
        let prev_hash: String = row.try_get_by_index(2).expect("prev_hash");
        let hash: String = row.try_get_by_index(3).expect("hash");
        assert_eq!(
            body,
            serde_json::to_string(event).expect("json"),
            "the body is the event's JSON"
        );
        assert_eq!(prev_hash, prev, "event {seq} chains to the previous one");
        assert_eq!(
            hash,
            sha(&prev, seq as u64, &body),
            "event {seq}: sha256(prev ‖ seq ‖ body)"
        );
        prev = hash;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_pages_through_many_cases() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = support::sqlite_url(dir.path());
    let store = SqlStore::connect(&url).await.expect("connect");
    // More cases than one page of `verify` (500), appended without waiting in between.
    let cases: Vec<CaseNo> = (0..1203)
        .map(|i| CaseNo::new(format!("P-{i:05}")))
        .collect();
    let pending: Vec<_> = cases
        .iter()
        .map(|c| store.append(commit(c, 0, 2)))
        .collect();
    for p in pending {
        p.await.expect("append");
    }
    assert_eq!(store.verify(None).await.expect("verify"), vec![]);
    let raw = support::raw(&url, None).await;
    for victim in ["P-00000", "P-00777", "P-01202"] {
        exec(
            &raw,
            &format!(
                "UPDATE events SET hash = '{}' WHERE case_no = '{victim}' AND seq = 2",
                "0".repeat(64)
            ),
        )
        .await;
    }
    let broken: Vec<String> = store
        .verify(None)
        .await
        .expect("verify")
        .into_iter()
        .map(|b| format!("{} {}", b.case_no, b.seq))
        .collect();
    assert_eq!(broken, ["P-00000 2", "P-00777 2", "P-01202 2"]);
}
