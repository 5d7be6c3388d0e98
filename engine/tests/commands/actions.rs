//! Every action and the events it decides.

use super::*;

#[test]
fn every_action_decides_its_events() {
    use Step::*;
    // (name, policy, setup, command, events)
    type Row = (
        &'static str,
        &'static str,
        &'static [Step],
        Step,
        &'static [&'static str],
    );
    let rows: &[Row] = &[
        (
            "submit",
            "cancel_dependants",
            &[],
            Submit,
            &[
                "case_submitted",
                "case_accepted",
                "task_dispatched:a",
                "task_dispatched:b",
            ],
        ),
        (
            "approve starts the dependants",
            "cancel_dependants",
            &[Submit],
            Approve("a"),
            &["task_approved:a", "task_dispatched:c"],
        ),
        (
            "the last approval closes the case",
            "cancel_dependants",
            &[Submit, Approve("a"), Approve("b")],
            Approve("c"),
            &["task_approved:c", "case_closed"],
        ),
        (
            "refuse cancels the dependants",
            "cancel_dependants",
            &[Submit],
            Refuse("a"),
            &["task_rejected:a", "task_cancelled:c"],
        ),
        (
            "refuse in an all-or-nothing bundle",
            "reject_bundle",
            &[Submit],
            Refuse("a"),
            &[
                "task_rejected:a",
                "task_cancelled:b",
                "task_cancelled:c",
                "case_closed",
            ],
        ),
        (
            "refuse while waiting for a supplement",
            "cancel_dependants",
            &[Submit, Ask("a")],
            Refuse("a"),
            &["task_rejected:a", "task_cancelled:c"],
        ),
        (
            "request a supplement",
            "cancel_dependants",
            &[Submit],
            Ask("a"),
            &["supplement_requested:a"],
        ),
        (
            "supply re-dispatches",
            "cancel_dependants",
            &[Submit, Ask("a")],
            Supply,
            &["supplied", "task_dispatched:a"],
        ),
        (
            "withdraw a task",
            "cancel_dependants",
            &[Submit],
            Withdraw(&["a"]),
            &["task_withdrawn:a", "task_cancelled:c"],
        ),
        (
            "withdraw the case",
            "cancel_dependants",
            &[Submit],
            WithdrawCase,
            &[
                "task_withdrawn:a",
                "task_withdrawn:b",
                "task_withdrawn:c",
                "case_withdrawn",
                "case_closed",
            ],
        ),
        (
            "cancel a waiting retry",
            "cancel_dependants",
            &[Submit, Fail("a")],
            Cancel("a"),
            &["task_cancelled:a", "task_cancelled:c"],
        ),
        (
            "fail",
            "cancel_dependants",
            &[Submit],
            Fail("a"),
            &["task_failed:a"],
        ),
        (
            "dispatch a due retry",
            "cancel_dependants",
            &[Submit, Fail("a")],
            Dispatch("a"),
            &["task_dispatched:a"],
        ),
        (
            "approve during a retry wait",
            "cancel_dependants",
            &[Submit, Fail("a")],
            Approve("a"),
            &["task_approved:a", "task_dispatched:c"],
        ),
    ];
    for (name, policy, setup, command, expected) in rows {
        let mut c = Case::flow(policy);
        c.steps(setup);
        let events = c.step(*command).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Tasks that start together may start in any order.
        let mut got = c.describe(&events);
        got.sort_unstable();
        let mut want = expected.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{name}");
        assert_eq!(c.replayed().tasks, c.state.tasks, "{name}");
    }
}
