//! Department queues: fetch-and-lock, fencing lease tokens, heartbeat, accept, expiry,
//! long polling and restarts.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use yijian_engine::*;

const BUNDLE: &str = r#"
yijian: 1
id: q
version: 1
title: 队列
time_limit: 5wd
form:
  name: {type: string, required: true}
tasks:
  licence: {title: 营业执照, department: market, output: {no: string}}
  seal: {title: 印章, department: police, after: [licence]}
"#;

fn fetch(dep: &str, max: usize, wait_ms: u64) -> FetchRequest {
    FetchRequest {
        department: dep.into(),
        region: None,
        max,
        lease: Duration::from_secs(300),
        wait: Duration::from_millis(wait_ms),
        worker: "w1".into(),
        kinds: Vec::new(),
    }
}

async fn setup(store: MemoryStore, clock: &ManualClock) -> Engine<MemoryStore> {
    let e = Engine::builder(store)
        .clock(Arc::new(clock.clone()))
        .build()
        .await
        .unwrap();
    e.deploy(BUNDLE).await.unwrap();
    e
}

fn submission(region: &str) -> SubmitRequest {
    SubmitRequest {
        bundle: "q".into(),
        submission: Submission {
            region: region.into(),
            form: json!({"name": "x"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ..Submission::default()
        },
        ..SubmitRequest::default()
    }
}

fn t0() -> Timestamp {
    "2026-03-02T01:00:00Z".parse().unwrap()
}

#[tokio::test]
async fn fetch_leases_with_fencing_tokens_and_completion_names_the_lease() {
    let clock = ManualClock::new(t0());
    let e = setup(MemoryStore::new(), &clock).await;
    let c1 = e.submit(submission("320102")).await.unwrap();
    let c2 = e.submit(submission("320106")).await.unwrap();
    // Scoped to 320106: only the second case.
    let mut scoped = fetch("market", 10, 0);
    scoped.region = Some("320106".into());
    let got = e.fetch(&scoped).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].work.case_no, c2.case_no);
    let got = e.fetch(&fetch("market", 10, 0)).await.unwrap();
    assert_eq!(got.len(), 1);
    let w = &got[0];
    assert_eq!(
        (w.work.case_no.clone(), w.lease_token),
        (c1.case_no.clone(), 1)
    );
    // Nothing left.
    assert!(e.fetch(&fetch("market", 10, 0)).await.unwrap().is_empty());
    let r = w.work.task;
    let approve = || {
        Command::new(
            Actor::Department("market".into()),
            Action::Approve {
                task: r,
                output: json!({"no": "L1"}),
            },
        )
    };
    // A wrong token is refused and changes nothing.
    let err = e
        .execute(&c1.case_no, approve().with_lease(7))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Rejected(Rejection::StaleLease {
                given: 7,
                current: Some(1),
                ..
            })
        ),
        "{err}"
    );
    // Accept (受理) turns the lease into a claim; the deadline still runs.
    let accept = Command::new(
        Actor::Department("market".into()),
        Action::Accept {
            task: r,
            receipt_no: Some("SL-1".into()),
        },
    )
    .with_lease(1);
    e.execute(&c1.case_no, accept).await.unwrap();
    clock.advance(SignedDuration::from_hours(1));
    e.fire_timers(clock.now()).await;
    e.execute(&c1.case_no, approve().with_lease(1))
        .await
        .unwrap();
    let v = e.case(&c1.case_no).await.unwrap();
    assert_eq!(v.task("licence").unwrap().status, UnitStatus::Approved);
    // The dependant is queued for police.
    let seal = e.fetch(&fetch("police", 5, 0)).await.unwrap();
    assert_eq!(seal.len(), 1);
}

#[tokio::test]
async fn an_expired_lease_returns_the_unit_and_fences_the_old_worker() {
    let clock = ManualClock::new(t0());
    let e = setup(MemoryStore::new(), &clock).await;
    let c = e.submit(submission("")).await.unwrap();
    let first = e.fetch(&fetch("market", 1, 0)).await.unwrap().remove(0);
    // A heartbeat extends it.
    let hb = |until: Timestamp| {
        Command::new(
            Actor::Department("market".into()),
            Action::Heartbeat {
                task: first.work.task,
                until,
            },
        )
    };
    e.execute(
        &c.case_no,
        hb(t0() + SignedDuration::from_mins(10)).with_lease(1),
    )
    .await
    .unwrap();
    clock.advance(SignedDuration::from_mins(11));
    e.fire_timers(clock.now()).await;
    // Expired: back in the queue, a new worker gets token 2.
    let second = e.fetch(&fetch("market", 1, 0)).await.unwrap().remove(0);
    assert_eq!(second.lease_token, 2);
    let late = Command::new(
        Actor::Department("market".into()),
        Action::Approve {
            task: first.work.task,
            output: json!({"no": "old"}),
        },
    );
    let err = e.execute(&c.case_no, late.with_lease(1)).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Rejected(Rejection::StaleLease { .. })),
        "{err}"
    );
    let ok = Command::new(
        Actor::Department("market".into()),
        Action::Approve {
            task: second.work.task,
            output: json!({"no": "new"}),
        },
    );
    e.execute(&c.case_no, ok.with_lease(2)).await.unwrap();
}

#[tokio::test]
async fn long_polling_wakes_on_a_new_unit() {
    let clock = ManualClock::new(t0());
    let e = setup(MemoryStore::new(), &clock).await;
    let e2 = e.clone();
    let waiter = tokio::spawn(async move { e2.fetch(&fetch("market", 1, 5_000)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    e.submit(submission("")).await.unwrap();
    let got = waiter.await.unwrap().unwrap();
    assert_eq!(got.len(), 1);
    // An empty poll returns empty after its wait.
    assert!(e.fetch(&fetch("tax", 1, 20)).await.unwrap().is_empty());
}

#[tokio::test]
async fn leases_survive_a_restart_and_unleased_units_are_queued_again() {
    let clock = ManualClock::new(t0());
    let store = MemoryStore::new();
    let e = setup(store.clone(), &clock).await;
    let a = e.submit(submission("")).await.unwrap();
    let b = e.submit(submission("")).await.unwrap();
    let leased = e.fetch(&fetch("market", 1, 0)).await.unwrap().remove(0);
    drop(e);
    let e = Engine::builder(store)
        .clock(Arc::new(clock.clone()))
        .build()
        .await
        .unwrap();
    // Nothing to hand over again: no department has an adapter, and the queues are the
    // store's, so a new engine reads nothing at start.
    assert_eq!(e.recover().await.unwrap(), 0);
    assert_eq!(e.cases_in_memory(), 0);
    // Only the unleased unit is in the queue; the leased one still takes its token.
    let again = e.fetch(&fetch("market", 10, 0)).await.unwrap();
    assert_eq!(again.len(), 1);
    let other = if leased.work.case_no == a.case_no {
        &b.case_no
    } else {
        &a.case_no
    };
    assert_eq!(&again[0].work.case_no, other);
    let ok = Command::new(
        Actor::Department("market".into()),
        Action::Approve {
            task: leased.work.task,
            output: json!({"no": "1"}),
        },
    );
    e.execute(&leased.work.case_no, ok.with_lease(leased.lease_token))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_rectification_of_a_closed_case_can_be_fetched_and_decided() {
    let clock = ManualClock::new(t0());
    let e = setup(MemoryStore::new(), &clock).await;
    let c = e.submit(submission("")).await.unwrap();
    let w = e.fetch(&fetch("market", 1, 0)).await.unwrap().remove(0);
    let ok = Command::new(
        Actor::Department("market".into()),
        Action::Approve {
            task: w.work.task,
            output: json!({"no": "1"}),
        },
    );
    e.execute(&c.case_no, ok.with_lease(w.lease_token))
        .await
        .unwrap();
    let seal = e.fetch(&fetch("police", 1, 0)).await.unwrap().remove(0);
    let ok = Command::new(
        Actor::Department("police".into()),
        Action::Approve {
            task: seal.work.task,
            output: json!(null),
        },
    );
    e.execute(&c.case_no, ok.with_lease(seal.lease_token))
        .await
        .unwrap();
    assert_eq!(
        e.case(&c.case_no).await.unwrap().outcome.as_deref(),
        Some("completed")
    );
    let bad = Action::Evaluate {
        grade: 1,
        department: Some("police".into()),
        comment: "态度差".into(),
    };
    e.execute(&c.case_no, Command::new(Actor::Applicant, bad))
        .await
        .unwrap();
    let rect = e.fetch(&fetch("police", 1, 0)).await.unwrap();
    assert_eq!(rect.len(), 1, "the rectification is in the police queue");
    let r = rect[0].work.task;
    let done = Command::new(
        Actor::Department("police".into()),
        Action::Approve {
            task: r,
            output: json!({"reply": "已回访"}),
        },
    );
    e.execute(&c.case_no, done.with_lease(rect[0].lease_token))
        .await
        .unwrap();
    assert_eq!(
        e.case(&c.case_no)
            .await
            .unwrap()
            .task("rectify[0]")
            .unwrap()
            .status,
        UnitStatus::Approved
    );
}

#[tokio::test]
async fn a_caller_without_a_lease_is_fenced_by_a_live_one_and_may_claim_a_free_unit() {
    let clock = ManualClock::new(t0());
    let e = setup(MemoryStore::new(), &clock).await;
    let c1 = e.submit(submission("")).await.unwrap();
    let c2 = e.submit(submission("")).await.unwrap();
    let held = e.fetch(&fetch("market", 1, 0)).await.unwrap().remove(0);
    assert_eq!(held.work.case_no, c1.case_no);
    let market = || Actor::Department("market".into());
    let approve = |task| {
        Command::new(
            market(),
            Action::Approve {
                task,
                output: json!({"no": "L"}),
            },
        )
    };
    // c1's unit is leased: a tokenless answer is stale and changes nothing.
    let before = e.events(&c1.case_no).await.unwrap();
    let err = e
        .execute(&c1.case_no, approve(held.work.task).without_lease())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Rejected(Rejection::StaleLease {
                given: 0,
                current: Some(1),
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(e.events(&c1.case_no).await.unwrap(), before);
    // A heartbeat never goes without a lease.
    let hb = Command::new(
        market(),
        Action::Heartbeat {
            task: held.work.task,
            until: t0() + SignedDuration::from_hours(1),
        },
    );
    assert!(e.execute(&c1.case_no, hb.without_lease()).await.is_err());
    // c2's unit was never leased (as if pushed): accepted without a lease, the claim
    // (token 0) keeps fetches away, and the answer goes through.
    let r2 = e.task_ref(&c2.case_no, "licence").await.unwrap();
    let accept = Command::new(
        market(),
        Action::Accept {
            task: r2,
            receipt_no: Some("SL-9".into()),
        },
    );
    e.execute(&c2.case_no, accept.without_lease())
        .await
        .unwrap();
    let ev = e.events(&c2.case_no).await.unwrap();
    assert!(
        ev.iter()
            .any(|x| matches!(x.kind, EventKind::TaskAccepted { token: 0, .. })),
        "{ev:?}"
    );
    // The claim outlives any lease length.
    clock.advance(SignedDuration::from_hours(2));
    e.fire_timers(clock.now()).await;
    // (c1's lease expired meanwhile: c1 comes back, c2 does not.)
    let again = e.fetch(&fetch("market", 10, 0)).await.unwrap();
    assert_eq!(
        again.iter().map(|w| &w.work.case_no).collect::<Vec<_>>(),
        [&c1.case_no]
    );
    e.execute(&c2.case_no, approve(r2).without_lease())
        .await
        .unwrap();
    assert_eq!(
        e.case(&c2.case_no)
            .await
            .unwrap()
            .task("licence")
            .unwrap()
            .status,
        UnitStatus::Approved
    );
}

#[tokio::test]
async fn a_batch_fetch_leases_every_ready_unit_with_its_own_token() {
    let clock = ManualClock::new(t0());
    let e = setup(MemoryStore::new(), &clock).await;
    let mut cases = Vec::new();
    for _ in 0..25 {
        cases.push(e.submit(submission("")).await.unwrap().case_no);
    }
    let got = e.fetch(&fetch("market", 20, 0)).await.unwrap();
    assert_eq!(got.len(), 20);
    let mut seen: Vec<_> = got.iter().map(|w| w.work.case_no.clone()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 20, "no unit handed out twice");
    assert!(got.iter().all(|w| w.lease_token == 1));
    let rest = e.fetch(&fetch("market", 20, 0)).await.unwrap();
    assert_eq!(rest.len(), 5);
    for w in got.iter().chain(&rest) {
        let ev = e.events(&w.work.case_no).await.unwrap();
        assert!(
            ev.iter()
                .any(|x| matches!(x.kind, EventKind::TaskLeased { token: 1, .. })),
            "each lease is an event of its case"
        );
    }
    assert!(e.fetch(&fetch("market", 20, 0)).await.unwrap().is_empty());
}
