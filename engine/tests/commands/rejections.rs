//! Rejections: each names the problem and changes nothing.

use super::*;

fn not_open(task: &str, status: UnitStatus, action: &'static str) -> Expect {
    Expect::Is(Rejection::TaskNotOpen {
        task: task.to_owned(),
        status,
        action,
    })
}

fn unknown(task: &str) -> Expect {
    Expect::Is(Rejection::UnknownTask {
        task: task.to_owned(),
    })
}

enum Expect {
    Is(Rejection),
    Output(&'static str, &'static [&'static str]),
    Supply(&'static [&'static str]),
}

struct RejectRow {
    name: &'static str,
    setup: &'static [Step],
    command: fn(&Case) -> Command,
    expect: Expect,
}

#[test]
fn rejections_name_the_problem_and_change_nothing() {
    use Step::*;
    let rows = [
        RejectRow {
            name: "submit twice",
            setup: &[Submit],
            command: |c| c.command(Submit),
            expect: Expect::Is(Rejection::AlreadySubmitted),
        },
        RejectRow {
            name: "submit to a closed case",
            setup: &[Submit, WithdrawCase],
            command: |c| c.command(Submit),
            expect: Expect::Is(Rejection::AlreadySubmitted),
        },
        RejectRow {
            name: "a command before the submission",
            setup: &[],
            command: |c| c.command(Approve("licence")),
            expect: Expect::Is(Rejection::NoCase),
        },
        RejectRow {
            name: "a withdrawal before the submission",
            setup: &[],
            command: |c| c.command(WithdrawCase),
            expect: Expect::Is(Rejection::NoCase),
        },
        RejectRow {
            name: "a command on a closed case",
            setup: &[Submit, WithdrawCase],
            command: |c| c.command(Approve("licence")),
            expect: Expect::Is(Rejection::CaseClosed),
        },
        RejectRow {
            name: "supply on a closed case",
            setup: &[Submit, WithdrawCase],
            command: |_| supply(json!({"note": "x"}), &[]),
            expect: Expect::Is(Rejection::CaseClosed),
        },
        RejectRow {
            name: "no such task",
            setup: &[Submit],
            command: |_| {
                Command::new(
                    Actor::Operator("op".into()),
                    Action::Approve {
                        task: TaskRef::task(TaskIdx(99)),
                        output: json!({}),
                    },
                )
            },
            expect: unknown("?"),
        },
        RejectRow {
            name: "no such instance",
            setup: &[Submit],
            command: |c| {
                Command::new(
                    c.dept("check"),
                    Action::Approve {
                        task: TaskRef::instance(c.task("check").task, 7),
                        output: json!({"ok": true}),
                    },
                )
            },
            expect: unknown("check[7]"),
        },
        RejectRow {
            name: "an instance of a plain task",
            setup: &[Submit],
            command: |c| {
                Command::new(
                    c.dept("licence"),
                    Action::Refuse {
                        task: TaskRef::instance(c.task("licence").task, 0),
                        reason: "x".into(),
                    },
                )
            },
            expect: unknown("licence[0]"),
        },
        RejectRow {
            name: "withdraw no task",
            setup: &[Submit],
            command: |_| {
                Command::new(
                    Actor::Applicant,
                    Action::Withdraw {
                        tasks: Some(vec![]),
                        reason: "x".into(),
                    },
                )
            },
            expect: unknown(""),
        },
        RejectRow {
            name: "withdraw an unknown task",
            setup: &[Submit],
            command: |_| {
                Command::new(
                    Actor::Applicant,
                    Action::Withdraw {
                        tasks: Some(vec![TaskRef::task(TaskIdx(42))]),
                        reason: "x".into(),
                    },
                )
            },
            expect: unknown("?"),
        },
        RejectRow {
            name: "approve a waiting task",
            setup: &[Submit],
            command: |c| c.command(Approve("permit")),
            expect: not_open("permit", UnitStatus::Waiting, "approved"),
        },
        RejectRow {
            name: "approve twice",
            setup: &[Submit, Approve("licence")],
            command: |c| c.command(Approve("licence")),
            expect: not_open("licence", UnitStatus::Approved, "approved"),
        },
        RejectRow {
            name: "approve a skipped task",
            setup: &[Submit],
            command: |c| approve(c, "sign", Value::Null),
            expect: not_open("sign", UnitStatus::Skipped, "approved"),
        },
        RejectRow {
            name: "approve an automatic task",
            setup: &[Submit],
            command: |c| approve(c, "rule", Value::Null),
            expect: not_open("rule", UnitStatus::Approved, "approved"),
        },
        RejectRow {
            name: "approve while waiting for the applicant",
            setup: &[Submit, Ask("licence")],
            command: |c| c.command(Approve("licence")),
            expect: not_open("licence", UnitStatus::SupplementRequested, "approved"),
        },
        RejectRow {
            name: "refuse a refused task",
            setup: &[Submit, Refuse("survey")],
            command: |c| c.command(Refuse("survey")),
            expect: not_open("survey", UnitStatus::Rejected, "refused"),
        },
        RejectRow {
            name: "ask twice",
            setup: &[Submit, Ask("licence")],
            command: |c| c.command(Ask("licence")),
            expect: not_open(
                "licence",
                UnitStatus::SupplementRequested,
                "asked for a supplement",
            ),
        },
        RejectRow {
            name: "fail during a retry wait",
            setup: &[Submit, Fail("licence")],
            command: |c| c.command(Fail("licence")),
            expect: not_open("licence", UnitStatus::RetryWait, "failed"),
        },
        RejectRow {
            name: "dispatch a dispatched task",
            setup: &[Submit],
            command: |c| c.command(Dispatch("licence")),
            expect: not_open("licence", UnitStatus::Dispatched, "dispatched again"),
        },
        RejectRow {
            name: "withdraw an approved task",
            setup: &[Submit, Approve("licence")],
            command: |c| c.command(Withdraw(&["licence"])),
            expect: not_open("licence", UnitStatus::Approved, "withdrawn"),
        },
        RejectRow {
            name: "withdraw an open task and an approved one: all or nothing",
            setup: &[Submit, Approve("licence")],
            command: |c| c.command(Withdraw(&["survey", "licence"])),
            expect: not_open("licence", UnitStatus::Approved, "withdrawn"),
        },
        RejectRow {
            name: "cancel an approved task",
            setup: &[Submit, Approve("survey")],
            command: |c| c.command(Cancel("survey")),
            expect: not_open("survey", UnitStatus::Approved, "cancelled"),
        },
        RejectRow {
            name: "a fan-out is decided per instance",
            setup: &[Submit],
            command: |c| approve(c, "check", json!({"ok": true})),
            expect: Expect::Is(Rejection::InstanceRequired {
                task: "check".into(),
            }),
        },
        RejectRow {
            name: "output: a declared field missing",
            setup: &[Submit],
            command: |c| approve(c, "licence", json!({"no": "L-1"})),
            expect: Expect::Output("licence", &["output.licence_pdf"]),
        },
        RejectRow {
            name: "output: wrong type",
            setup: &[Submit],
            command: |c| approve(c, "licence", json!({"no": 7, "licence_pdf": licence()})),
            expect: Expect::Output("licence", &["output.no"]),
        },
        RejectRow {
            name: "output: an undeclared extra field",
            setup: &[Submit],
            command: |c| {
                approve(
                    c,
                    "licence",
                    json!({"no": "L", "licence_pdf": licence(), "extra": 1}),
                )
            },
            expect: Expect::Output("licence", &["output.extra"]),
        },
        RejectRow {
            name: "output: a licence without uri",
            setup: &[Submit],
            command: |c| {
                approve(
                    c,
                    "licence",
                    json!({"no": "L", "licence_pdf": {"name": "l.pdf", "sha256": ""}}),
                )
            },
            expect: Expect::Output("licence", &["output.licence_pdf"]),
        },
        RejectRow {
            name: "output: not an object",
            setup: &[Submit],
            command: |c| approve(c, "licence", json!("L-1")),
            expect: Expect::Output("licence", &["output"]),
        },
        RejectRow {
            name: "output: integer, date and number fields of the wrong shape",
            setup: &[Submit],
            command: |c| {
                approve(
                    c,
                    "survey",
                    json!({"count": 1.5, "day": "3 March", "area": "big"}),
                )
            },
            expect: Expect::Output("survey", &["output.area", "output.count", "output.day"]),
        },
        RejectRow {
            name: "output: an instance's output",
            setup: &[Submit],
            command: |c| approve(c, "check[1]", json!({"ok": "yes"})),
            expect: Expect::Output("check[1]", &["output.ok"]),
        },
        RejectRow {
            name: "refuse without reason",
            setup: &[Submit],
            command: |c| {
                let task = c.task("licence");
                dept(
                    c,
                    "licence",
                    Action::Refuse {
                        task,
                        reason: " \t".into(),
                    },
                )
            },
            expect: Expect::Is(Rejection::ReasonRequired),
        },
        RejectRow {
            name: "withdraw the case without reason",
            setup: &[Submit],
            command: |_| {
                Command::new(
                    Actor::Applicant,
                    Action::Withdraw {
                        tasks: None,
                        reason: String::new(),
                    },
                )
            },
            expect: Expect::Is(Rejection::ReasonRequired),
        },
        RejectRow {
            name: "withdraw a task without reason",
            setup: &[Submit],
            command: |c| {
                Command::new(
                    Actor::Applicant,
                    Action::Withdraw {
                        tasks: Some(vec![c.task("survey")]),
                        reason: " ".into(),
                    },
                )
            },
            expect: Expect::Is(Rejection::ReasonRequired),
        },
        RejectRow {
            name: "cancel without reason",
            setup: &[Submit],
            command: |c| {
                Command::new(
                    Actor::Operator("op".into()),
                    Action::Cancel {
                        task: c.task("survey"),
                        reason: String::new(),
                    },
                )
            },
            expect: Expect::Is(Rejection::ReasonRequired),
        },
        RejectRow {
            name: "a supplement request listing nothing",
            setup: &[Submit],
            command: |c| ask(c, "licence", vec![]),
            expect: Expect::Is(Rejection::NothingMissing),
        },
        RejectRow {
            name: "a supplement request naming an unknown material",
            setup: &[Submit],
            command: |c| ask(c, "licence", vec![missing(Some("passport"), None, "缺")]),
            expect: Expect::Supply(&["missing[0]"]),
        },
        RejectRow {
            name: "a supplement request naming an unknown field",
            setup: &[Submit],
            command: |c| ask(c, "licence", vec![missing(None, Some("colour"), "缺")]),
            expect: Expect::Supply(&["missing[0]"]),
        },
        RejectRow {
            name: "a supplement request naming nothing, without reason",
            setup: &[Submit],
            command: |c| {
                ask(
                    c,
                    "licence",
                    vec![missing(None, Some("note"), "ok"), missing(None, None, " ")],
                )
            },
            expect: Expect::Supply(&["missing[1]", "missing[1].reason"]),
        },
        RejectRow {
            name: "supply when nothing is asked",
            setup: &[Submit],
            command: |_| supply(json!({"note": "x"}), &[]),
            expect: Expect::Is(Rejection::NothingToSupply),
        },
        RejectRow {
            name: "supply after the request was answered",
            setup: &[Submit, Ask("licence"), Supply],
            command: |_| supply(json!({"note": "y"}), &[]),
            expect: Expect::Is(Rejection::NothingToSupply),
        },
        RejectRow {
            name: "supply: unknown field, wrong type",
            setup: &[Submit, Ask("licence")],
            command: |_| supply(json!({"colour": "red", "area": "big"}), &[]),
            expect: Expect::Supply(&["form.area", "form.colour"]),
        },
        RejectRow {
            name: "supply: unknown material, a task's licence, bad file",
            setup: &[Submit, Ask("licence")],
            command: |_| {
                let bad = MaterialRef {
                    name: String::new(),
                    sha256: "xyz".into(),
                    uri: None,
                };
                supply(
                    json!({}),
                    &[
                        ("passport", file("p.pdf")),
                        ("licence_pdf", file("l.pdf")),
                        ("lease", bad),
                    ],
                )
            },
            expect: Expect::Supply(&[
                "materials.lease.name",
                "materials.lease.sha256",
                "materials.licence_pdf",
                "materials.passport",
            ]),
        },
        RejectRow {
            name: "another department",
            setup: &[Submit],
            command: |c| {
                let task = c.task("licence");
                let output = good_output(c.bp(), task);
                Command::new(
                    Actor::Department("health".into()),
                    Action::Approve { task, output },
                )
            },
            expect: Expect::Is(Rejection::WrongDepartment {
                task: "licence".into(),
                department: "market".into(),
            }),
        },
        RejectRow {
            name: "another department asking for a supplement",
            setup: &[Submit],
            command: |c| {
                Command::new(
                    Actor::Department("police".into()),
                    Action::RequestSupplement {
                        task: c.task("survey"),
                        missing: vec![missing(None, Some("note"), "缺")],
                    },
                )
            },
            expect: Expect::Is(Rejection::WrongDepartment {
                task: "survey".into(),
                department: "urban".into(),
            }),
        },
    ];
    for row in rows {
        let mut c = Case::full();
        c.steps(row.setup);
        let before = snapshot(&c.state);
        let log = c.log.len();
        let cmd = (row.command)(&c);
        let got = decide(&c.state, &cmd, c.now).expect_err(row.name);
        match (&row.expect, &got) {
            (Expect::Is(want), got) => assert_eq!(got, want, "{}", row.name),
            (Expect::Output(task, paths), Rejection::InvalidOutput { task: t, problems }) => {
                assert_eq!(t, task, "{}", row.name);
                let mut got: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
                got.sort_unstable();
                assert_eq!(got, *paths, "{}", row.name);
            }
            (Expect::Supply(paths), Rejection::InvalidSupply { problems }) => {
                let mut got: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
                got.sort_unstable();
                assert_eq!(got, *paths, "{}", row.name);
            }
            (_, got) => panic!("{}: unexpected {got:?}", row.name),
        }
        assert!(!got.to_string().is_empty());
        // Decided in place, a rejection leaves the state as it was too.
        let mut in_place = c.state.clone();
        assert_eq!(
            decide_in_place(&mut in_place, &cmd, c.now),
            Err(got),
            "{}",
            row.name
        );
        assert_eq!(snapshot(&in_place), before, "{} (in place)", row.name);
        // Through the same path a service takes: nothing is applied, nothing changes.
        assert!(c.run(cmd.actor, cmd.action).is_err());
        assert_eq!(snapshot(&c.state), before, "{}", row.name);
        assert_eq!(c.log.len(), log, "{}", row.name);
    }
}

#[test]
fn a_submission_lists_each_problem_with_its_path() {
    // (problem, change to the valid submission, paths)
    type Change = fn(&mut Submission);
    let rows: &[(&str, Change, &[&str])] = &[
        (
            "unknown field",
            |s| {
                s.form.insert("colour".into(), json!("red"));
            },
            &["form.colour"],
        ),
        (
            "required field missing",
            |s| {
                s.form.remove("name");
            },
            &["form.name"],
        ),
        (
            "required field null",
            |s| {
                s.form.insert("name".into(), Value::Null);
            },
            &["form.name"],
        ),
        (
            "wrong type",
            |s| {
                s.form.insert("area".into(), json!("big"));
            },
            &["form.area"],
        ),
        (
            "below min",
            |s| {
                s.form.insert("area".into(), json!(-1));
            },
            &["form.area"],
        ),
        (
            "above max",
            |s| {
                s.form.insert("area".into(), json!(1000.5));
            },
            &["form.area"],
        ),
        (
            "pattern",
            |s| {
                s.form.insert("code".into(), json!("12a"));
            },
            &["form.code"],
        ),
        (
            "enum",
            |s| {
                s.form.insert("kind".into(), json!("kiosk"));
            },
            &["form.kind"],
        ),
        (
            "integer",
            |s| {
                s.form.insert("count".into(), json!(1.5));
            },
            &["form.count"],
        ),
        (
            "date",
            |s| {
                s.form.insert("day".into(), json!("2026-02-30"));
            },
            &["form.day"],
        ),
        (
            "boolean",
            |s| {
                s.form.insert("eligible".into(), json!("yes"));
            },
            &["form.eligible"],
        ),
        (
            "not a list",
            |s| {
                s.form.insert("partners".into(), json!({"name": "甲"}));
            },
            &["form.partners"],
        ),
        (
            "a list element not an object",
            |s| {
                s.form.insert("partners".into(), json!(["甲"]));
            },
            &["form.partners[0]"],
        ),
        (
            "a list element's required field",
            |s| {
                s.form
                    .insert("partners".into(), json!([{"name": "甲"}, {}]));
            },
            &["form.partners[1].name"],
        ),
        (
            "a list element's unknown field",
            |s| {
                s.form
                    .insert("partners".into(), json!([{"name": "甲", "age": 3}]));
            },
            &["form.partners[0].age"],
        ),
        (
            "an object's field",
            |s| {
                s.form
                    .insert("addr".into(), json!({"city": 5, "street": "x"}));
            },
            &["form.addr.city", "form.addr.street"],
        ),
        (
            "required by an expression",
            |s| {
                s.form.insert("big".into(), json!(true));
            },
            &["form.plan_no", "materials.plan"],
        ),
        (
            "unknown material",
            |s| {
                s.materials.insert("passport".into(), file("p.pdf"));
            },
            &["materials.passport"],
        ),
        (
            "a task's licence uploaded",
            |s| {
                s.materials.insert("licence_pdf".into(), file("l.pdf"));
            },
            &["materials.licence_pdf"],
        ),
        (
            "required material missing",
            |s| {
                s.materials.remove("lease");
            },
            &["materials.lease"],
        ),
        (
            "a file without name, a bad digest",
            |s| {
                s.materials.insert(
                    "lease".into(),
                    MaterialRef {
                        name: " ".into(),
                        sha256: "abc".into(),
                        uri: None,
                    },
                );
            },
            &["materials.lease.name", "materials.lease.sha256"],
        ),
        (
            "a shared material that could not be fetched",
            |s| s.unavailable.push("id_card".into()),
            &["materials.id_card"],
        ),
        (
            "unavailable names a material that is not shared",
            |s| s.unavailable.push("lease".into()),
            &["unavailable.lease"],
        ),
        (
            "a commitment on an unknown task",
            |s| s.commitments.push("nothing".into()),
            &["commitments.nothing"],
        ),
        (
            "a commitment the task does not allow",
            |s| s.commitments.push("licence".into()),
            &["commitments.licence"],
        ),
        (
            "every problem at once",
            |s| {
                s.form.remove("name");
                s.form.insert("code".into(), json!("x"));
                s.form.insert("partners".into(), json!([{}]));
                s.materials.remove("lease");
                s.commitments.push("survey".into());
            },
            &[
                "commitments.survey",
                "form.code",
                "form.name",
                "form.partners[0].name",
                "materials.lease",
            ],
        ),
    ];
    let bp = blueprint(FULL);
    for (name, change, paths) in rows {
        let c = Case::new(bp.clone(), full_submission());
        let mut s = full_submission();
        change(&mut s);
        let cmd = Command::new(Actor::Window("w1".into()), Action::Submit(s));
        let got = decide(&c.state, &cmd, c.now).expect_err(name);
        let Rejection::InvalidSubmission { problems } = &got else {
            panic!("{name}: {got:?}")
        };
        let got: BTreeSet<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        let want: BTreeSet<&str> = paths.iter().copied().collect();
        assert_eq!(got, want, "{name}: {problems:?}");
        assert!(problems.iter().all(|p| !p.message.is_empty()), "{name}");
        assert_eq!(c.state.version, 0);
    }
    // The valid submission itself is accepted, and a commitment the task allows too.
    let c = Case::new(bp.clone(), full_submission());
    let mut s = full_submission();
    s.commitments.push("sign".into());
    decide(
        &c.state,
        &Command::new(Actor::Window("w1".into()), Action::Submit(s)),
        c.now,
    )
    .expect("a valid submission");
}

#[test]
fn a_bundle_not_offered_refuses_the_application() {
    let c = Case::full();
    let mut s = full_submission();
    s.form.insert("eligible".into(), json!(false));
    let got = decide(
        &c.state,
        &Command::new(Actor::Window("w1".into()), Action::Submit(s)),
        c.now,
    )
    .unwrap_err();
    assert_eq!(
        got,
        Rejection::NotOffered {
            reason: "`form.eligible` is false for this application".into()
        }
    );
    assert_eq!(c.state.version, 0);
}
