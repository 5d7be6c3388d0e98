//! Outcomes per refusal policy.

use super::*;

struct OutcomeRow {
    name: &'static str,
    policy: &'static str,
    with_b: bool,
    steps: &'static [Step],
    outcome: Outcome,
    statuses: [UnitStatus; 3],
    documents: &'static [&'static str],
}

#[test]
fn outcomes_follow_the_refusal_policy() {
    use Step::*;
    use UnitStatus::{Approved as A, Cancelled as C, Rejected as R, Skipped as S, Withdrawn as W};
    let rows = [
        OutcomeRow {
            name: "all approved",
            policy: "cancel_dependants",
            with_b: true,
            steps: &[Submit, Approve("a"), Approve("b"), Approve("c")],
            outcome: Outcome::Completed,
            statuses: [A, A, A],
            documents: &["甲证", "乙证", "丙证"],
        },
        OutcomeRow {
            name: "approved or skipped",
            policy: "reject_bundle",
            with_b: false,
            steps: &[Submit, Approve("a"), Approve("c")],
            outcome: Outcome::Completed,
            statuses: [A, S, A],
            documents: &["甲证", "丙证"],
        },
        OutcomeRow {
            name: "a refusal cancels its dependants, finished work stands",
            policy: "cancel_dependants",
            with_b: true,
            steps: &[Submit, Approve("b"), Refuse("a")],
            outcome: Outcome::PartiallyCompleted,
            statuses: [R, A, C],
            documents: &["乙证"],
        },
        OutcomeRow {
            name: "a refusal of a leaf",
            policy: "cancel_dependants",
            with_b: true,
            steps: &[Submit, Approve("a"), Refuse("b"), Approve("c")],
            outcome: Outcome::PartiallyCompleted,
            statuses: [A, R, A],
            documents: &["甲证", "丙证"],
        },
        OutcomeRow {
            name: "nothing delivered",
            policy: "cancel_dependants",
            with_b: true,
            steps: &[Submit, Refuse("b"), Refuse("a")],
            outcome: Outcome::Refused,
            statuses: [R, R, C],
            documents: &[],
        },
        OutcomeRow {
            name: "all or nothing: one refusal refuses the bundle",
            policy: "reject_bundle",
            with_b: true,
            steps: &[Submit, Approve("a"), Refuse("b")],
            outcome: Outcome::Refused,
            statuses: [A, R, C],
            documents: &["甲证"],
        },
        OutcomeRow {
            name: "all or nothing: the first refusal cancels the rest",
            policy: "reject_bundle",
            with_b: true,
            steps: &[Submit, Refuse("a")],
            outcome: Outcome::Refused,
            statuses: [R, C, C],
            documents: &[],
        },
        OutcomeRow {
            name: "the whole case withdrawn",
            policy: "cancel_dependants",
            with_b: true,
            steps: &[Submit, Approve("a"), WithdrawCase],
            outcome: Outcome::Withdrawn,
            statuses: [A, W, W],
            documents: &["甲证"],
        },
        OutcomeRow {
            name: "a withdrawn task does not count against the bundle",
            policy: "cancel_dependants",
            with_b: true,
            steps: &[Submit, Withdraw(&["b"]), Approve("a"), Approve("c")],
            outcome: Outcome::Completed,
            statuses: [A, W, A],
            documents: &["甲证", "丙证"],
        },
        OutcomeRow {
            name: "a withdrawal cancels its dependants without counting",
            policy: "reject_bundle",
            with_b: true,
            steps: &[Submit, Withdraw(&["a"]), Approve("b")],
            outcome: Outcome::Completed,
            statuses: [W, A, C],
            documents: &["乙证"],
        },
        OutcomeRow {
            name: "every task withdrawn one by one",
            policy: "cancel_dependants",
            with_b: true,
            steps: &[Submit, Withdraw(&["a", "b"])],
            outcome: Outcome::Withdrawn,
            statuses: [W, W, C],
            documents: &[],
        },
        OutcomeRow {
            name: "an incident cancelled by an operator",
            policy: "cancel_dependants",
            with_b: true,
            steps: &[
                Submit,
                Fail("a"),
                Dispatch("a"),
                Fail("a"),
                Dispatch("a"),
                Fail("a"),
                Cancel("a"),
                Approve("b"),
            ],
            outcome: Outcome::PartiallyCompleted,
            statuses: [C, A, C],
            documents: &["乙证"],
        },
    ];
    for row in rows {
        let submission = Submission {
            form: form(json!({"with_b": row.with_b})),
            ..Submission::default()
        };
        let mut c = Case::new(flow(row.policy), submission);
        c.steps(row.steps);
        assert_eq!(c.state.outcome(), Some(row.outcome), "{}", row.name);
        let got = ["a", "b", "c"].map(|t| c.status(t));
        assert_eq!(got, row.statuses, "{}", row.name);
        let docs: Vec<&str> = c.state.documents.keys().map(String::as_str).collect();
        assert_eq!(docs, row.documents, "{}", row.name);
        for name in row.documents {
            let task = match *name {
                "甲证" => "a",
                "乙证" => "b",
                _ => "c",
            };
            assert_eq!(c.state.documents[*name], json!(format!("{task}-no")));
        }
        let closed = c.log.iter().filter(|e| e.kind.name() == "case_closed");
        assert_eq!(closed.count(), 1, "{}", row.name);
        assert_eq!(c.log.last().unwrap().kind.name(), "case_closed");
        let r = c.replayed();
        assert_eq!(
            (r.version, r.phase, &r.tasks, &r.documents),
            (
                c.state.version,
                c.state.phase,
                &c.state.tasks,
                &c.state.documents
            ),
            "{}",
            row.name
        );
    }
}
