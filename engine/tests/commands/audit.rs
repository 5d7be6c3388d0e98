//! The audit trail: actor, time and reason of every event.

use super::*;

#[test]
fn every_event_carries_its_actor_time_and_reason() {
    let mut c = Case::flow("cancel_dependants");
    // (step, for each event: actor, reason)
    type Expected = &'static [(fn() -> Actor, Option<&'static str>)];
    let script: &[(Step, Expected)] = &[
        (
            Step::Submit,
            &[
                (|| Actor::Window("w1".into()), None),
                (|| Actor::Window("w1".into()), None),
                (|| Actor::Engine, None),
                (|| Actor::Engine, None),
            ],
        ),
        (Step::Ask("a"), &[(|| Actor::Department("x".into()), None)]),
        (
            Step::Supply,
            &[(|| Actor::Applicant, None), (|| Actor::Engine, None)],
        ),
        (Step::Fail("a"), &[(|| Actor::Engine, None)]),
        (
            Step::Refuse("a"),
            &[
                (|| Actor::Department("x".into()), Some("不予许可")),
                (|| Actor::Engine, None),
            ],
        ),
        (
            Step::WithdrawCase,
            &[
                (|| Actor::Applicant, Some("申请人撤回")),
                (|| Actor::Applicant, Some("申请人撤回")),
                (|| Actor::Engine, None),
            ],
        ),
    ];
    let mut times = Vec::new();
    for (step, expected) in script {
        c.now += SignedDuration::from_secs(61);
        let events = c.step(*step).unwrap_or_else(|e| panic!("{step:?}: {e}"));
        assert_eq!(events.len(), expected.len(), "{step:?}: {events:?}");
        for (e, (actor, reason)) in events.iter().zip(expected.iter()) {
            assert_eq!(e.actor, actor(), "{step:?}: {e:?}");
            assert_eq!(e.reason.as_deref(), *reason, "{step:?}: {e:?}");
            assert_eq!(e.at, c.now);
            times.push(e.at);
        }
    }
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    // The upstream cancellation says which task caused it.
    let cancelled = c
        .log
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::TaskCancelled { task, cause } => Some((*task, cause.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        cancelled,
        (
            c.task("c"),
            CancelCause::Upstream {
                upstream: c.task("a")
            }
        )
    );
    assert_eq!(c.unit("a").reason.as_deref(), Some("不予许可"));
    assert_eq!(c.unit("b").reason.as_deref(), Some("申请人撤回"));
    // Serialised, each event keeps `at`, `actor` and its name.
    for e in &c.log {
        let j = serde_json::to_value(e).unwrap();
        assert_eq!(j["at"], json!(e.at.to_string()));
        assert!(j["actor"]["kind"].is_string(), "{j}");
        assert_eq!(j["event"], json!(e.kind.name()));
    }
}

#[test]
fn skipped_and_operator_cancelled_tasks_record_why() {
    let mut c = Case::new(
        flow("cancel_dependants"),
        Submission {
            form: form(json!({"with_b": false})),
            ..Submission::default()
        },
    );
    let events = c.step(Step::Submit).unwrap();
    let skipped = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::TaskSkipped { .. }))
        .unwrap();
    assert_eq!(skipped.actor, Actor::Engine);
    assert!(skipped.reason.as_deref().unwrap().contains("form.with_b"));
    let events = c.step(Step::Cancel("a")).unwrap();
    assert_eq!(events[0].actor, Actor::Operator("op".into()));
    assert_eq!(events[0].reason.as_deref(), Some("理由"));
    assert_eq!(
        c.describe(&events),
        ["task_cancelled:a", "task_cancelled:c", "case_closed"]
    );
}
