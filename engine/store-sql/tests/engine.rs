use std::sync::Arc;

use serde_json::json;
use yijian_engine::store::CaseStore;
use yijian_engine::{
    Adapter, Decision, Dispatch, Engine, Replier, Submission, SubmitRequest, Work,
};
use yijian_store_sql::SqlStore;

use crate::support;

const BUNDLE: &str = r#"
yijian: 1
id: bundle-3
version: 1
title: bundle-3
time_limit: 5wd
tasks:
  a: {title: A, department: a, output: {licence_no: string}}
  b: {title: B, department: b, output: {licence_no: string}}
  c: {title: C, department: c, output: {licence_no: string}}
"#;

/// A department that approves at once.
#[derive(Debug)]
struct Approve;

impl Adapter for Approve {
    fn dispatch(&self, work: &Work, _reply: &Replier) -> Dispatch {
        Dispatch::Decided(Decision::Approve(
            json!({"licence_no": format!("{}-{}", work.case_no, work.name())}),
        ))
    }
}

/// A department whose back office is down: the work waits.
#[derive(Debug)]
struct Away;

impl Adapter for Away {
    fn dispatch(&self, _work: &Work, _reply: &Replier) -> Dispatch {
        Dispatch::Pending
    }
}

fn request(key: Option<String>) -> SubmitRequest {
    SubmitRequest {
        bundle: "bundle-3".into(),
        submission: Submission::default(),
        idempotency_key: key,
        ..SubmitRequest::default()
    }
}

async fn engine(url: &str, c_is_up: bool) -> Engine<SqlStore> {
    let store = SqlStore::connect(url).await.expect("connect");
    let e = Engine::builder(store).build().await.expect("engine");
    e.register_adapter("a", Arc::new(Approve));
    e.register_adapter("b", Arc::new(Approve));
    if c_is_up {
        e.register_adapter("c", Arc::new(Approve));
    } else {
        e.register_adapter("c", Arc::new(Away));
    }
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_survives_a_restart_on_a_sqlite_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = support::sqlite_url(dir.path());

    // First life: department c is away, so every case waits for it.
    let mut open = Vec::new();
    {
        let e = engine(&url, false).await;
        assert!(e.deploy(BUNDLE).await.expect("deploy").created);
        let mut set = tokio::task::JoinSet::new();
        for i in 0..40 {
            let e = e.clone();
            set.spawn(async move {
                let key = (i % 2 == 0).then(|| format!("key-{i}"));
                let view = e.submit(request(key.clone())).await.expect("submit");
                (key, view.case_no, view.status)
            });
        }
        while let Some(r) = set.join_next().await {
            let (key, no, status) = r.expect("submitter");
            assert_eq!(status, "running");
            open.push((key, no));
        }
        // A repeated submission is answered with the first case (exactly once).
        let (key, no) = open
            .iter()
            .find(|(k, _)| k.is_some())
            .expect("a keyed case");
        let again = e.submit(request(key.clone())).await.expect("resubmit");
        assert_eq!(&again.case_no, no);
        e.shutdown().await;
    }

    // Second life on the same file: c is back; recovery hands its work over again.
    let e = engine(&url, true).await;
    assert!(
        e.blueprint("bundle-3", Some(1)).is_some(),
        "bundles are reloaded"
    );
    assert_eq!(e.store().open_cases().await.expect("open").len(), 40);
    let recovered = e.recover().await.expect("recover");
    assert_eq!(recovered, 40);
    for (key, no) in &open {
        let view = e.case(no).await.expect("case");
        assert_eq!(view.outcome.as_deref(), Some("completed"), "{no}");
        let events = e.events(no).await.expect("events");
        assert_eq!(
            events.first().map(|ev| ev.kind.name()),
            Some("case_submitted")
        );
        assert_eq!(events.last().map(|ev| ev.kind.name()), Some("case_closed"));
        if let Some(key) = key {
            let again = e
                .submit(request(Some(key.clone())))
                .await
                .expect("resubmit");
            assert_eq!(
                &again.case_no, no,
                "the key still names its case after a restart"
            );
        }
    }
    assert!(e.store().open_cases().await.expect("open").is_empty());

    // Case numbers continue after the restart.
    let fresh = e.submit(request(None)).await.expect("submit");
    assert!(
        open.iter().all(|(_, no)| no != &fresh.case_no),
        "{}",
        fresh.case_no
    );
    assert_eq!(fresh.outcome.as_deref(), Some("completed"));
    assert_eq!(e.store().case_count().await.expect("count"), 41);
    assert_eq!(e.store().verify(None).await.expect("verify"), vec![]);
}

/// Two engines ("nodes") on one database submit side by side: every case gets its own
/// number, and a key used on one node answers the same case on the other.
async fn two_nodes(first: SqlStore, second: SqlStore) {
    let a = Engine::builder(first).build().await.expect("engine a");
    let b = Engine::builder(second).build().await.expect("engine b");
    a.deploy(BUNDLE).await.expect("deploy a");
    b.deploy(BUNDLE).await.expect("deploy b");
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        set.spawn(async move { node.submit(request(None)).await.map(|v| v.case_no) });
    }
    let mut numbers = Vec::new();
    while let Some(r) = set.join_next().await {
        numbers.push(r.expect("joined").expect("every submission is accepted"));
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 20);
    assert_eq!(a.store().case_count().await.expect("count"), 20);
    let first = a
        .submit(request(Some("node-key".into())))
        .await
        .expect("first");
    let again = b
        .submit(request(Some("node-key".into())))
        .await
        .expect("again");
    assert_eq!(again.case_no, first.case_no);
    assert_eq!(b.store().case_count().await.expect("count"), 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_one_sqlite_file_issue_distinct_case_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = support::sqlite_url(dir.path());
    let first = SqlStore::connect(&url).await.expect("connect");
    let second = SqlStore::connect(&url).await.expect("connect");
    two_nodes(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_one_postgres_issue_distinct_case_numbers() {
    let Some(url) = support::database_url("engine::two_engines_on_one_postgres") else {
        return;
    };
    let schema = support::fresh_schema();
    let first = support::pg_store(&url, &schema).await;
    let second = support::pg_store(&url, &schema).await;
    two_nodes(first, second).await;
    support::drop_schema(&url, &schema).await;
}
