//! The runtime on the in-memory store: deploy, submit, adapters, completion, recovery.

use std::sync::{Arc, Mutex};

use serde_json::json;
use yijian_engine::adapter::WorkCancelled;
use yijian_engine::store::{CaseStore, EventLog};
use yijian_engine::*;

const BUNDLE: &str = r#"
yijian: 1
id: demo
version: 1
title: 示例
time_limit: 5wd
form:
  name: {type: string, required: true}
tasks:
  licence:
    title: 营业执照
    department: market
    input: {name: form.name}
    output: {licence_no: string}
  seal:
    title: 印章刻制
    department: police
    after: [licence]
    input: {licence_no: tasks.licence.output.licence_no}
  tax:
    title: 税务
    department: tax
    after: [licence]
"#;

fn submission(name: &str) -> SubmitRequest {
    SubmitRequest {
        bundle: "demo".into(),
        submission: Submission {
            form: json!({"name": name})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ..Submission::default()
        },
        ..SubmitRequest::default()
    }
}

async fn engine() -> Engine<MemoryStore> {
    let e = Engine::builder(MemoryStore::new()).build().await.unwrap();
    e.deploy(BUNDLE).await.unwrap();
    e
}

#[derive(Debug, Default)]
struct Recorder {
    cancelled: Mutex<Vec<String>>,
}

impl Adapter for Recorder {
    fn dispatch(&self, _work: &Work, _reply: &Replier) -> Dispatch {
        Dispatch::Pending
    }
    fn cancel(&self, work: &WorkCancelled) {
        self.cancelled.lock().unwrap().push(work.name.clone());
    }
}

#[tokio::test]
async fn a_case_runs_through_adapters_and_the_completion_api() {
    let e = engine().await;
    e.register_adapter(
        "market",
        Arc::new(yijian_adapters_like::approve(json!({"licence_no": "L-1"}))),
    );
    let case = e.submit(submission("张记")).await.unwrap();
    // licence decided at once; seal and tax wait for their back offices (no adapter).
    assert_eq!(case.task("licence").unwrap().status, UnitStatus::Approved);
    assert_eq!(case.task("seal").unwrap().status, UnitStatus::Dispatched);
    e.complete(
        &case.case_no,
        "seal",
        Actor::Department("police".into()),
        Decision::Approve(json!(null)),
    )
    .await
    .unwrap();
    let err = e
        .complete(
            &case.case_no,
            "tax",
            Actor::Department("police".into()),
            Decision::Approve(json!(null)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Rejected(Rejection::WrongDepartment { .. })
        ),
        "{err}"
    );
    e.complete(
        &case.case_no,
        "tax",
        Actor::Department("tax".into()),
        Decision::Approve(json!(null)),
    )
    .await
    .unwrap();
    let done = e.case(&case.case_no).await.unwrap();
    assert_eq!(done.outcome.as_deref(), Some("completed"));
    // The closed case left memory but reads back from the store.
    assert_eq!(e.cases_in_memory(), 0);
    let events = e.events(&case.case_no).await.unwrap();
    assert_eq!(events.len() as u64, done.event_count);
    // The seal received the licence number through its input mapping.
    let seal_input = events
        .iter()
        .find_map(|ev| match &ev.kind {
            EventKind::TaskDispatched { task, input, .. }
                if task.name(&e.blueprint("demo", None).unwrap()) == "seal" =>
            {
                Some(input.clone())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(seal_input["licence_no"], "L-1");
}

/// A tiny local stand-in so this test does not depend on the adapters crate.
mod yijian_adapters_like {
    use super::*;
    #[derive(Debug)]
    pub(super) struct Approve(serde_json::Value);
    impl Adapter for Approve {
        fn dispatch(&self, _work: &Work, _reply: &Replier) -> Dispatch {
            Dispatch::Decided(Decision::Approve(self.0.clone()))
        }
    }
    pub(super) fn approve(v: serde_json::Value) -> Approve {
        Approve(v)
    }
}

#[tokio::test]
async fn bad_submissions_store_nothing() {
    let e = engine().await;
    let mut req = submission("x");
    req.submission.form.remove("name");
    req.submission.form.insert("colour".into(), json!("red"));
    let err = e.submit(req).await.unwrap_err();
    let EngineError::Rejected(Rejection::InvalidSubmission { problems }) = err else {
        panic!("{err}")
    };
    assert_eq!(problems.len(), 2);
    assert_eq!(e.store().case_count().await.unwrap(), 0);
    assert_eq!(e.cases_in_memory(), 0);
    let err = e
        .submit(SubmitRequest {
            bundle: "nope".into(),
            ..submission("x")
        })
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::UnknownBundle { .. }));
}

#[tokio::test]
async fn a_repeated_submission_returns_the_first_case() {
    let e = engine().await;
    let req = SubmitRequest {
        idempotency_key: Some("portal-42".into()),
        ..submission("张记")
    };
    let (a, b) = tokio::join!(e.submit(req.clone()), e.submit(req.clone()));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.case_no, b.case_no);
    assert_eq!(e.store().case_count().await.unwrap(), 1);
    let c = e.submit(req).await.unwrap();
    assert_eq!(c.case_no, a.case_no);
}

#[tokio::test]
async fn a_repeat_after_the_case_moved_on_returns_the_first_view() {
    let e = engine().await;
    let req = SubmitRequest {
        idempotency_key: Some("portal-43".into()),
        ..submission("李记")
    };
    let first = e.submit(req.clone()).await.unwrap();
    e.complete(
        &first.case_no,
        "licence",
        Actor::Department("market".into()),
        Decision::Approve(json!({"licence_no": "L-1"})),
    )
    .await
    .unwrap();
    e.withdraw(&first.case_no, None, "不办了").await.unwrap();
    let now = e.case(&first.case_no).await.unwrap();
    assert_ne!(now, first, "the case moved on");
    assert!(now.outcome.is_some(), "{now:?}");
    let repeat = e.submit(req).await.unwrap();
    assert_eq!(
        repeat, first,
        "a repeat answers the first view, not the case as it stands"
    );
    assert_eq!(e.store().case_count().await.unwrap(), 1);
    let keyed = e.store().case_for_key("portal-43").await.unwrap().unwrap();
    assert_eq!(keyed.created_events, Some(first.event_count));
}

#[tokio::test]
async fn deploying_is_immutable_per_version_and_running_cases_keep_theirs() {
    let e = engine().await;
    let again = e.deploy(BUNDLE).await.unwrap();
    assert!(!again.created);
    let changed = BUNDLE.replace("title: 示例", "title: 示例二");
    let err = e.deploy(&changed).await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Store(store::StoreError::BundleExists { .. })
        ),
        "{err}"
    );
    let running = e.submit(submission("a")).await.unwrap();
    let v2 = changed
        .replace("version: 1", "version: 2")
        .replace("    after: [licence]\n\"#", "\"#");
    let v2 = v2.replace(
        "  tax:\n    title: 税务\n    department: tax\n    after: [licence]\n",
        "",
    );
    let d = e.deploy(&v2).await.unwrap();
    assert_eq!((d.version, d.blueprint.tasks.len()), (2, 2));
    let new_case = e.submit(submission("b")).await.unwrap();
    assert_eq!(new_case.version, 2);
    assert_eq!(e.case(&running.case_no).await.unwrap().version, 1);
    assert_eq!(e.case(&running.case_no).await.unwrap().tasks.len(), 3);
}

#[tokio::test]
async fn withdrawing_a_task_notifies_its_back_office_and_cancels_dependants() {
    let e = engine().await;
    let rec = Arc::new(Recorder::default());
    e.register_adapter("market", rec.clone());
    let case = e.submit(submission("a")).await.unwrap();
    e.withdraw(&case.case_no, Some(&["licence"]), "不再需要")
        .await
        .unwrap();
    assert_eq!(*rec.cancelled.lock().unwrap(), vec!["licence".to_owned()]);
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(v.outcome.as_deref(), Some("withdrawn"));
    assert_eq!(v.task("seal").unwrap().status, UnitStatus::Cancelled);
}

#[tokio::test]
async fn a_technical_failure_is_retried() {
    let e = engine().await;
    let case = e.submit(submission("a")).await.unwrap();
    let fail = Decision::Fail {
        error: "back office timeout".into(),
        retry_in: None,
    };
    e.complete(
        &case.case_no,
        "licence",
        Actor::Department("market".into()),
        fail,
    )
    .await
    .unwrap();
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(v.task("licence").unwrap().status, UnitStatus::RetryWait);
    let r = e.task_ref(&case.case_no, "licence").await.unwrap();
    e.execute(
        &case.case_no,
        Command::new(Actor::Engine, Action::Dispatch { task: r }),
    )
    .await
    .unwrap();
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(
        (
            v.task("licence").unwrap().status,
            v.task("licence").unwrap().attempts
        ),
        (UnitStatus::Dispatched, 2)
    );
}

#[tokio::test]
async fn a_restarted_engine_recovers_open_cases_and_dispatches_again() {
    let store = MemoryStore::new();
    let e1 = Engine::builder(store.clone()).build().await.unwrap();
    e1.deploy(BUNDLE).await.unwrap();
    let case = e1.submit(submission("a")).await.unwrap();
    drop(e1);
    // A new engine on the same store: the bundle and the case come back.
    let e2 = Engine::builder(store.clone()).build().await.unwrap();
    e2.register_adapter(
        "market",
        Arc::new(yijian_adapters_like::approve(json!({"licence_no": "L-9"}))),
    );
    assert_eq!(e2.recover().await.unwrap(), 1);
    let v = e2.case(&case.case_no).await.unwrap();
    assert_eq!(v.task("licence").unwrap().status, UnitStatus::Approved);
    assert_eq!(v.task("seal").unwrap().status, UnitStatus::Dispatched);
    // Numbering continues after the store's cases.
    let next = e2.submit(submission("b")).await.unwrap();
    assert_ne!(next.case_no, case.case_no);
    let (summary, events) = store.read(&case.case_no).await.unwrap().unwrap();
    assert_eq!(summary.event_count, events.len() as u64);
}

#[tokio::test]
async fn shutdown_refuses_new_commands() {
    let e = engine().await;
    e.shutdown().await;
    assert!(matches!(
        e.submit(submission("a")).await.unwrap_err(),
        EngineError::ShuttingDown
    ));
}

#[tokio::test]
async fn two_engines_on_one_store_never_share_a_case_number() {
    // Two nodes on one database: both start counting from the same stored count, so their
    // first numbers collide; the second to commit moves past every stored case and retries.
    let store = MemoryStore::new();
    let a = Engine::builder(store.clone()).build().await.unwrap();
    let b = Engine::builder(store.clone()).build().await.unwrap();
    a.deploy(BUNDLE).await.unwrap();
    b.deploy(BUNDLE).await.unwrap();
    let mut numbers = Vec::new();
    for i in 0..4 {
        numbers.push(
            a.submit(submission(&format!("甲{i}")))
                .await
                .unwrap()
                .case_no,
        );
        numbers.push(
            b.submit(submission(&format!("乙{i}")))
                .await
                .unwrap()
                .case_no,
        );
    }
    let mut distinct = numbers.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 8, "{numbers:?}");
    assert_eq!(store.case_count().await.unwrap(), 8);
    // The same key through the other node: the first node's case, not a second one.
    let mut keyed = submission("丙");
    keyed.idempotency_key = Some("k-1".into());
    let first = a.submit(keyed.clone()).await.unwrap();
    let again = b.submit(keyed).await.unwrap();
    assert_eq!(again.case_no, first.case_no);
    assert_eq!(store.case_count().await.unwrap(), 9);
}
