//! Changing a running case: 退回 (send back), 加办 and its reverse, 改派 (reassign). Each
//! change replays to the same state; each refusal names its problem and changes nothing.

use super::*;

/// `FLOW` with the tax-like bound on `a`: at most one send-back.
fn bounded() -> Case {
    let text = FLOW
        .replace("POLICY", "cancel_dependants")
        .replace("a: {title: 甲,", "a: {title: 甲, send_back: {max: 1},");
    Case::new(blueprint(&text), Submission::default())
}

fn send_back(c: &Case, task: &str, by: &str) -> Command {
    dept(
        c,
        by,
        Action::SendBack {
            task: c.task(task),
            by: c.task(by),
            reason: "甲的结果有误".into(),
        },
    )
}

/// Runs `cmd`, which must be refused with `want`, and checks that nothing changed.
fn refuse(c: &mut Case, cmd: Command, want: &Rejection) {
    let before = snapshot(&c.state);
    let got = c.exec(&cmd).expect_err("refused");
    assert_eq!(&got, want);
    assert_eq!(snapshot(&c.state), before, "{want:?} changed the case");
}

#[test]
fn a_result_sent_back_is_redone_and_its_dependant_waits_again() {
    let mut c = bounded();
    c.steps(&[Step::Submit, Step::Approve("a")]);
    assert_eq!(c.status("c"), UnitStatus::Dispatched);
    let before = c.unit("a").output.clone();
    let cmd = send_back(&c, "a", "c");
    let events = c.run(cmd.actor, cmd.action).expect("sent back");
    let names = c.describe(&events);
    assert_eq!(
        names[..3],
        ["task_sent_back:a", "task_held:c", "task_dispatched:a"],
        "{names:?}"
    );
    assert_eq!(events[0].reason.as_deref(), Some("甲的结果有误"));
    assert_eq!(c.status("a"), UnitStatus::Dispatched);
    assert_eq!(c.status("c"), UnitStatus::Waiting);
    assert_eq!(c.status("b"), UnitStatus::Dispatched, "b did not use a");
    let changed = c.unit("a").changed.clone().expect("recorded");
    assert_eq!(changed.send_backs, 1);
    let back = changed.sent_back.expect("the send-back");
    assert_eq!(back.previous_output, before);
    assert_eq!(back.by, c.task("c"));
    // Past the bound of one.
    c.now += SignedDuration::from_mins(5);
    c.steps(&[Step::Approve("a")]);
    assert_eq!(c.status("c"), UnitStatus::Dispatched, "dispatched again");
    let cmd = send_back(&c, "a", "c");
    refuse(
        &mut c,
        cmd,
        &Rejection::SendBackLimit {
            task: "a".into(),
            max: 1,
        },
    );
    c.steps(&[Step::Approve("b"), Step::Approve("c")]);
    assert_eq!(c.state.outcome(), Some(Outcome::Completed));
    assert_eq!(
        c.replayed().tasks,
        c.state.tasks,
        "the log replays to the same state"
    );
}

#[test]
fn send_backs_that_do_not_fit_are_refused() {
    let mut c = bounded();
    c.steps(&[Step::Submit]);
    // `c` waits for `a`: its department has nothing dispatched to send anything back from.
    let cmd = send_back(&c, "a", "c");
    let got = c.exec(&cmd).expect_err("refused");
    assert!(
        matches!(&got, Rejection::TaskNotOpen { task, status: UnitStatus::Waiting, .. } if task == "c"),
        "{got:?}"
    );
    c.steps(&[Step::Approve("a")]);
    let cmd = send_back(&c, "a", "b");
    refuse(
        &mut c,
        cmd,
        &Rejection::NotUpstream {
            task: "a".into(),
            by: "b".into(),
        },
    );
    let mut cmd = send_back(&c, "a", "c");
    if let Action::SendBack { reason, .. } = &mut cmd.action {
        reason.clear();
    }
    refuse(&mut c, cmd, &Rejection::ReasonRequired);
    // Forbidden by the bundle.
    let text = FLOW
        .replace("POLICY", "cancel_dependants")
        .replace("a: {title: 甲,", "a: {title: 甲, send_back: false,");
    let mut f = Case::new(blueprint(&text), Submission::default());
    f.steps(&[Step::Submit, Step::Approve("a")]);
    let cmd = send_back(&f, "a", "c");
    let got = f.run(cmd.actor, cmd.action).expect_err("refused");
    assert!(
        matches!(&got, Rejection::SendBackNotAllowed { task, .. } if task == "a"),
        "{got:?}"
    );
}

#[test]
fn an_item_left_out_is_added_with_the_form_change_and_removed_again() {
    let sub = Submission {
        form: form(json!({"with_b": false})),
        ..Submission::default()
    };
    let mut c = Case::new(flow("cancel_dependants"), sub);
    c.steps(&[Step::Submit]);
    assert_eq!(c.status("b"), UnitStatus::Skipped);
    let add = |c: &Case, task: &str, fields: Value| {
        Command::new(
            Actor::Applicant,
            Action::AddItem {
                task: c.task(task),
                form: form(fields),
                materials: BTreeMap::new(),
                via: None,
            },
        )
    };
    let cmd = add(&c, "b", json!({}));
    refuse(
        &mut c,
        cmd,
        &Rejection::ItemNotApplicable {
            task: "b".into(),
            when: "form.with_b".into(),
        },
    );
    let cmd = add(&c, "a", json!({}));
    refuse(
        &mut c,
        cmd,
        &Rejection::TaskNotOpen {
            task: "a".into(),
            status: UnitStatus::Dispatched,
            action: "added (only an item left out of the case can be)",
        },
    );
    let cmd = add(&c, "b", json!({"with_b": true}));
    let events = c.run(cmd.actor, cmd.action).expect("added");
    let names = c.describe(&events);
    assert_eq!(
        names[..2],
        ["item_added:b", "task_dispatched:b"],
        "{names:?}"
    );
    assert_eq!(c.state.form["with_b"], true);
    // Dispatched now: it cannot be removed (撤回单项 is the way).
    let remove = Command::new(
        Actor::Applicant,
        Action::RemoveItem {
            task: c.task("b"),
            reason: "不办了".into(),
        },
    );
    let got = c.run(remove.actor, remove.action).expect_err("refused");
    assert!(matches!(got, Rejection::TaskNotOpen { .. }), "{got:?}");
    assert_eq!(c.replayed().tasks, c.state.tasks);
}

#[test]
fn a_reassigned_unit_is_acted_on_only_from_its_new_region() {
    let sub = Submission {
        region: "320106".into(),
        ..Submission::default()
    };
    let mut c = Case::new(flow("cancel_dependants"), sub);
    c.steps(&[Step::Submit]);
    let a = c.task("a");
    let reassign = |region: &str| {
        Command::new(
            Actor::Operator("op".into()),
            Action::Reassign {
                task: a,
                region: region.into(),
                reason: "属地有误".into(),
            },
        )
    };
    refuse(
        &mut c,
        reassign("320106"),
        &Rejection::SameRegion {
            task: "a".into(),
            region: "320106".into(),
        },
    );
    let due = c.unit("a").due;
    let cmd = reassign("320105");
    let events = c.run(cmd.actor, cmd.action).expect("reassigned");
    assert_eq!(c.describe(&events), ["task_reassigned:a"]);
    assert_eq!(&**c.state.unit_region(a), "320105");
    assert_eq!(c.unit("a").due, due, "its clock runs on");
    // The old district's department is refused; the new one's may decide.
    let output = json!({"no": "甲-1"});
    let approve = |c: &Case, scope: &str| {
        dept(
            c,
            "a",
            Action::Approve {
                task: a,
                output: output.clone(),
            },
        )
        .within(Some(Arc::from(scope)))
    };
    let old = approve(&c, "320106");
    refuse(
        &mut c,
        old,
        &Rejection::OutsideRegion {
            task: "a".into(),
            region: "320105".into(),
        },
    );
    let new = approve(&c, "320105");
    c.exec(&new).expect("decided in its new region");
    assert_eq!(c.status("a"), UnitStatus::Approved);
    assert_eq!(c.replayed().tasks, c.state.tasks);
}
