use std::borrow::Cow;

use yijian_engine::store::{CaseStore, CaseSummary, Commit, EventLog, StoreError};
use yijian_engine::{Actor, CaseNo, Event, EventKind};
use yijian_store_sql::SqlStore;

use crate::support;

fn commit(case_no: &CaseNo, expected: u64) -> Commit {
    Commit {
        case_no: case_no.clone(),
        expected_version: expected,
        lineage: 0,
        events: vec![Event {
            at: jiff::Timestamp::UNIX_EPOCH,
            actor: Actor::Applicant,
            reason: Some("测试".into()),
            kind: EventKind::CaseWithdrawn,
        }],
        summary: CaseSummary {
            case_no: case_no.clone(),
            bundle: "b".into(),
            version: 1,
            region: "r".into(),
            status: Cow::Borrowed("running"),
            closed: false,
            event_count: expected + 1,
            accepted_at: None,
            next_timer: None,
            warning: Default::default(),
            due: None,
            channel: None,
        },
        idempotency_key: None,
        tasks: Vec::new(),
        removed_tasks: Vec::new(),
    }
}

fn assert_read_only(r: Result<(), StoreError>) {
    match r {
        Err(StoreError::Unavailable { message }) => {
            assert!(message.contains("read-only"), "a clear message: {message}");
            println!("read-only append: {message}");
        }
        other => panic!("an append to a read-only database must be Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_database_refuses_appends_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("yijian.db");
    let no = CaseNo::new("RO-1");
    {
        let store = SqlStore::connect(&support::sqlite_url(dir.path()))
            .await
            .expect("connect");
        store.append(commit(&no, 0)).await.expect("append");
    }

    let ro = SqlStore::connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await
        .expect("a migrated database opens read-only");
    assert_read_only(ro.append(commit(&no, 1)).await);
    assert_read_only(ro.append(commit(&CaseNo::new("RO-2"), 0)).await);
    // Reads and audits still work.
    assert_eq!(ro.read(&no).await.expect("read").expect("case").1.len(), 1);
    assert_eq!(ro.verify(None).await.expect("verify"), vec![]);
    drop(ro);

    let rw = SqlStore::connect(&support::sqlite_url(dir.path()))
        .await
        .expect("connect");
    assert_eq!(
        rw.case_count().await.expect("count"),
        1,
        "nothing was written"
    );
    let (summary, events) = rw.read(&no).await.expect("read").expect("case");
    assert_eq!(
        (summary.event_count, events.len()),
        (1, 1),
        "nothing was written"
    );
    // The store itself is fine: a writable connection appends.
    rw.append(commit(&no, 1)).await.expect("append");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_file_refuses_appends() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("yijian.db");
    let no = CaseNo::new("RO-1");
    {
        let store = SqlStore::connect(&support::sqlite_url(dir.path()))
            .await
            .expect("connect");
        store.append(commit(&no, 0)).await.expect("append");
    }
    // Let the pool's connections close and checkpoint the WAL into the file.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    if std::fs::OpenOptions::new().write(true).open(&path).is_ok() {
        println!(
            "read_only_file: running with privileges that ignore file modes (root); covered by mode=ro above"
        );
        return;
    }
    let store = SqlStore::connect(&support::sqlite_url(dir.path()))
        .await
        .expect("a migrated, read-only file opens");
    assert_read_only(store.append(commit(&no, 1)).await);
    assert_eq!(
        store.read(&no).await.expect("read").expect("case").1.len(),
        1
    );
}

#[tokio::test]
async fn unreachable_database_is_unavailable() {
    let r = SqlStore::connect_with(
        "postgres://nobody@127.0.0.1:1/none",
        yijian_store_sql::SqlOptions::default().acquire_timeout(std::time::Duration::from_secs(1)),
    )
    .await;
    match r {
        Err(StoreError::Unavailable { message }) => println!("unreachable: {message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match SqlStore::connect("mysql://root:secret@localhost/db").await {
        Err(StoreError::Unavailable { message }) => {
            assert!(
                !message.contains("secret"),
                "no password in errors: {message}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no").join("such").join("dir.db");
    let r = SqlStore::connect(&format!("sqlite://{}?mode=rwc", missing.display())).await;
    assert!(matches!(r, Err(StoreError::Unavailable { .. })), "{r:?}");
}

#[test]
fn appends_after_the_writer_stopped_are_unavailable() {
    // A store whose runtime is gone: its writer task went with it.
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = first
        .block_on(SqlStore::connect("sqlite::memory:"))
        .expect("connect");
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let r = second.block_on(store.append(commit(&CaseNo::new("late"), 0)));
    assert!(matches!(r, Err(StoreError::Unavailable { .. })), "{r:?}");
}
