//! Fan-out joins, licences passed between tasks, supplements.

use super::*;

#[test]
fn a_fan_out_of_three_is_joined_before_its_dependant() {
    let submission = Submission {
        form: form(json!({"partners": [{"name": "甲"}, {"name": "乙"}, {"name": "丙"}]})),
        ..Submission::default()
    };
    let mut c = Case::new(blueprint(FAN), submission);
    let events = c.step(Step::Submit).unwrap();
    assert_eq!(
        c.describe(&events),
        [
            "case_submitted",
            "case_accepted",
            "task_fanned_out:check",
            "task_dispatched:check[0]",
            "task_dispatched:check[1]",
            "task_dispatched:check[2]",
        ]
    );
    let EventKind::TaskFannedOut { items, .. } = &events[2].kind else {
        unreachable!()
    };
    assert_eq!(items.len(), 3);
    for (i, name) in ["甲", "乙", "丙"].into_iter().enumerate() {
        let EventKind::TaskDispatched { input, attempt, .. } = &events[3 + i].kind else {
            unreachable!()
        };
        assert_eq!((input["name"].as_str(), *attempt), (Some(name), 1));
    }
    for i in [2, 0] {
        let task = c.task(&format!("check[{i}]"));
        let events = c
            .run(
                c.dept("check"),
                Action::Approve {
                    task,
                    output: json!({"ok": i == 2}),
                },
            )
            .unwrap();
        assert_eq!(events.len(), 1, "not joined yet: {events:?}");
        assert_eq!(c.status("check"), UnitStatus::Dispatched);
        assert_eq!(c.status("summary"), UnitStatus::Waiting);
    }
    let task = c.task("check[1]");
    let events = c
        .run(
            c.dept("check"),
            Action::Approve {
                task,
                output: json!({"ok": true}),
            },
        )
        .unwrap();
    assert_eq!(
        c.describe(&events),
        ["task_approved:check[1]", "task_dispatched:summary"]
    );
    assert_eq!(c.status("check"), UnitStatus::Approved);
    let outputs = json!([{"ok": false}, {"ok": true}, {"ok": true}]);
    assert_eq!(c.unit("check").output.as_deref(), Some(&outputs));
    let EventKind::TaskDispatched { input, .. } = &events[1].kind else {
        unreachable!()
    };
    let checks = input["checks"].as_array().expect("one entry per instance");
    assert_eq!(checks.len(), 3);
    assert!(
        checks
            .iter()
            .all(|t| t["status"] == json!("approved") && t["output"].is_object())
    );
    c.steps(&[Step::Approve("summary")]);
    assert_eq!(c.state.outcome(), Some(Outcome::Completed));
}

#[test]
fn a_refused_instance_refuses_the_joined_task_and_cancels_its_dependant() {
    let submission = Submission {
        form: form(json!({"partners": [{"name": "甲"}, {"name": "乙"}]})),
        ..Submission::default()
    };
    let mut c = Case::new(blueprint(FAN), submission);
    c.steps(&[Step::Submit, Step::Refuse("check[0]")]);
    assert_eq!(
        c.status("check"),
        UnitStatus::Dispatched,
        "check[1] still open"
    );
    assert_eq!(c.status("summary"), UnitStatus::Waiting);
    let events = c.step(Step::Approve("check[1]")).unwrap();
    assert_eq!(
        c.describe(&events),
        [
            "task_approved:check[1]",
            "task_cancelled:summary",
            "case_closed"
        ]
    );
    assert_eq!(c.status("check"), UnitStatus::Rejected);
    assert_eq!(c.state.outcome(), Some(Outcome::Refused));
}

#[test]
fn an_empty_fan_out_is_skipped() {
    let submission = Submission {
        form: form(json!({"partners": []})),
        ..Submission::default()
    };
    let mut c = Case::new(blueprint(FAN), submission);
    let events = c.step(Step::Submit).unwrap();
    assert_eq!(
        c.describe(&events),
        [
            "case_submitted",
            "case_accepted",
            "task_skipped:check",
            "task_dispatched:summary"
        ]
    );
}

#[test]
fn a_licence_produced_by_one_task_becomes_a_material_of_its_consumer() {
    let mut c = Case::full();
    c.steps(&[Step::Submit]);
    let licence = c.task("licence").task;
    let permit = c.bp().task("permit").unwrap();
    assert!(
        permit.upstream.contains(&licence),
        "a licence source runs first"
    );
    let m = &c.state.materials["licence_pdf"];
    assert!(!m.provided && m.file.is_none());
    assert!(c.state.materials["id_card"].provided, "shared: provided");
    assert_eq!(c.status("permit"), UnitStatus::Waiting);
    let pdf = json!({"name": "执照.pdf", "uri": "oss://licence/1", "sha256": "ab".repeat(32)});
    let events = c
        .run(
            c.dept("licence"),
            Action::Approve {
                task: c.task("licence"),
                output: json!({"no": "L-1", "licence_pdf": pdf}),
            },
        )
        .unwrap();
    assert_eq!(
        c.describe(&events),
        ["task_approved:licence", "task_dispatched:permit"]
    );
    let m = &c.state.materials["licence_pdf"];
    assert!(m.provided);
    assert_eq!(
        m.file,
        Some(MaterialRef {
            name: "执照.pdf".into(),
            sha256: "ab".repeat(32),
            uri: Some("oss://licence/1".into()),
        })
    );
    assert_eq!(c.replayed().materials, c.state.materials);
}

#[test]
fn supply_redispatches_exactly_the_waiting_units_with_the_new_form() {
    let mut c = Case::full();
    c.steps(&[
        Step::Submit,
        Step::Ask("licence"),
        Step::Ask("check[1]"),
        Step::Fail("survey"),
    ]);
    assert_eq!(c.state.status(), "awaiting_supplement");
    assert_eq!(c.unit("licence").missing.len(), 1);
    let events = c
        .run(
            Actor::Applicant,
            Action::Supply {
                via: None,
                form: form(json!({"note": "新的说明", "area": 130})),
                materials: BTreeMap::from([("lease".to_owned(), file("lease-v2.pdf"))]),
            },
        )
        .unwrap();
    assert_eq!(
        c.describe(&events),
        [
            "supplied",
            "task_dispatched:licence",
            "task_dispatched:check[1]"
        ]
    );
    for e in &events[1..] {
        let EventKind::TaskDispatched { input, attempt, .. } = &e.kind else {
            unreachable!()
        };
        assert_eq!(input["note"], json!("新的说明"));
        assert_eq!(*attempt, 2);
    }
    assert_eq!(c.state.form["area"], json!(130));
    assert_eq!(
        c.state.materials["lease"]
            .file
            .as_ref()
            .map(|f| f.name.as_str()),
        Some("lease-v2.pdf")
    );
    assert_eq!(c.state.status(), "running");
    assert!(c.unit("licence").missing.is_empty());
    assert_eq!(c.status("check[0]"), UnitStatus::Dispatched);
    assert_eq!(c.unit("check[0]").attempts, 1);
    assert_eq!(c.status("survey"), UnitStatus::RetryWait);
}
