//! Technical failures: retries with capped backoff, then incidents.

use super::*;

#[test]
fn technical_failures_retry_with_capped_backoff_then_become_an_incident() {
    let mut c = Case::new(blueprint(RETRY), Submission::default());
    c.steps(&[Step::Submit]);
    let push = c.task("push");
    assert_eq!(c.unit("push").attempts, 1);
    // attempts: 5, backoff 1s..5s: waits 1s, 2s, 4s, 5s (capped), then an incident.
    for (n, wait) in [1u64, 2, 4, 5].into_iter().enumerate() {
        let events = c.step(Step::Fail("push")).unwrap();
        let want = c.now + SignedDuration::from_secs(wait as i64);
        let [e] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(
            e.kind,
            EventKind::TaskFailed {
                task: push,
                attempt: n as u32 + 1,
                error: "503".into(),
                retry_at: Some(want),
                retries: None,
            }
        );
        let u = c.unit("push");
        assert_eq!(
            (u.status, u.retry_at, u.failures),
            (UnitStatus::RetryWait, Some(want), n as u32 + 1)
        );
        assert_eq!(u.reason.as_deref(), Some("503"));
        c.now = want;
        let events = c.step(Step::Dispatch("push")).unwrap();
        assert_eq!(c.describe(&events), ["task_dispatched:push"]);
        let u = c.unit("push");
        assert_eq!(
            (u.status, u.attempts, u.failures, u.retry_at),
            (UnitStatus::Dispatched, n as u32 + 2, n as u32 + 1, None)
        );
    }
    let events = c.step(Step::Fail("push")).unwrap();
    assert!(matches!(
        events[0].kind,
        EventKind::TaskFailed {
            attempt: 5,
            retry_at: None,
            ..
        }
    ));
    let u = c.unit("push");
    assert_eq!((u.status, u.failures), (UnitStatus::Incident, 5));
    assert_eq!(c.state.status(), "running");
    // An operator retries the incident: dispatched again, the failure count starts over.
    c.now += SignedDuration::from_hours(2);
    let events = c.step(Step::Dispatch("push")).unwrap();
    let [e] = &events[..] else {
        panic!("{events:?}")
    };
    assert!(matches!(
        e.kind,
        EventKind::TaskDispatched { attempt: 6, .. }
    ));
    let u = c.unit("push");
    assert_eq!(
        (u.status, u.attempts, u.failures),
        (UnitStatus::Dispatched, 6, 0)
    );
    let events = c.step(Step::Fail("push")).unwrap();
    assert!(matches!(
        events[0].kind,
        EventKind::TaskFailed { retry_at: Some(t), .. } if t == c.now + SignedDuration::from_secs(1)
    ));
    // A back office may ask for its own wait.
    c.step(Step::Dispatch("push")).unwrap();
    let events = c
        .run(
            Actor::Engine,
            Action::Fail {
                task: push,
                error: "429".into(),
                retry_in: Some(Duration::from_secs(90)),
                retries: None,
            },
        )
        .unwrap();
    assert!(matches!(
        events[0].kind,
        EventKind::TaskFailed { retry_at: Some(t), .. } if t == c.now + SignedDuration::from_secs(90)
    ));
    c.step(Step::Dispatch("push")).unwrap();
    c.step(Step::Approve("push")).unwrap();
    assert_eq!(c.state.outcome(), Some(Outcome::Completed));
    let r = c.replayed();
    assert_eq!(r.tasks, c.state.tasks);
}

#[test]
fn a_single_attempt_fails_straight_into_an_incident() {
    let text = RETRY.replace("attempts: 5", "attempts: 1");
    let mut c = Case::new(blueprint(&text), Submission::default());
    c.steps(&[Step::Submit, Step::Fail("push")]);
    assert_eq!(c.status("push"), UnitStatus::Incident);
    assert_eq!(c.unit("push").retry_at, None);
    // An incident can be cancelled by an operator; the case then closes.
    let events = c.step(Step::Cancel("push")).unwrap();
    assert_eq!(c.describe(&events), ["task_cancelled:push", "case_closed"]);
    assert!(matches!(
        &events[0].kind,
        EventKind::TaskCancelled {
            cause: CancelCause::Operator,
            ..
        }
    ));
    assert!(c.state.is_closed());
}

/// A worker that counts its own retries (Camunda's `retries`) decides instead of the
/// task's policy: more than the policy allows are retried, 0 is an incident at once, and
/// the count it gave is kept on the unit; an operator's retry forgets it.
#[test]
fn a_worker_counting_its_own_retries_replaces_the_policy() {
    let text = RETRY.replace("attempts: 5", "attempts: 1");
    let mut c = Case::new(blueprint(&text), Submission::default());
    c.steps(&[Step::Submit]);
    let push = c.task("push");
    let fail = |retries: u32| Action::Fail {
        task: push,
        error: "timeout".into(),
        retry_in: Some(Duration::from_secs(60)),
        retries: Some(retries),
    };
    for left in [2u32, 1] {
        let events = c.run(Actor::Engine, fail(left)).unwrap();
        assert!(matches!(
            events[0].kind,
            EventKind::TaskFailed { retry_at: Some(t), retries: Some(n), .. }
                if t == c.now + SignedDuration::from_secs(60) && n == left
        ));
        assert_eq!(c.unit("push").retries, Some(left));
        assert_eq!(c.status("push"), UnitStatus::RetryWait);
        c.now += SignedDuration::from_secs(60);
        c.step(Step::Dispatch("push")).unwrap();
    }
    c.run(Actor::Engine, fail(0)).unwrap();
    assert_eq!(c.status("push"), UnitStatus::Incident);
    assert_eq!(c.unit("push").retries, Some(0));
    c.step(Step::Dispatch("push")).unwrap();
    assert_eq!(
        c.unit("push").retries,
        None,
        "an operator's retry starts over"
    );
    let r = c.replayed();
    assert_eq!(r.tasks, c.state.tasks);
}
