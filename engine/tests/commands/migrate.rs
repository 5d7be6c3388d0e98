//! Migration of a running case to another version of its bundle: the dry run says exactly
//! what the command does; removed tasks that were dispatched block it; the events replay
//! (also after a round trip through JSON, which drops the blueprint) to the same state.

use super::*;

/// Version 2 of `FLOW`: `c` renamed `c2` (5 WD), `b` gone, `d` added after `a`.
fn v2() -> Arc<Blueprint> {
    let text = FLOW
        .replace("version: 1", "version: 2")
        .replace("POLICY", "cancel_dependants")
        .replace(
            "  b: {title: 乙, department: y, when: form.with_b, output: {no: string}}\n",
            "",
        )
        .replace(
            "  c: {title: 丙, department: x, after: [a], output: {no: string}}",
            "  c2: {title: 丙, department: x, after: [a], time_limit: 5wd, output: {no: string}}\n  d: {title: 丁, department: z, after: [a], input: {note: form.note}, output: {no: string}}",
        )
        .replace("    乙证: tasks.b.output.no\n", "")
        .replace("tasks.c.output.no", "tasks.c2.output.no");
    blueprint(&text)
}

fn renamed() -> BTreeMap<String, String> {
    BTreeMap::from([("c".to_owned(), "c2".to_owned())])
}

fn migrate(to: &Arc<Blueprint>) -> Command {
    Command::new(
        Actor::Operator("op".into()),
        Action::Migrate {
            to: event::Pinned(to.clone()),
            mapping: renamed(),
            reason: "新版办事指南".into(),
        },
    )
}

#[test]
fn the_dry_run_is_what_the_migration_does_and_it_replays() {
    let to = v2();
    let sub = Submission {
        form: form(json!({"with_b": false})),
        ..Submission::default()
    };
    let mut c = Case::new(flow("cancel_dependants"), sub);
    c.steps(&[Step::Submit]);
    let plan = yijian_engine::migrate::plan(&c.state, &to, &renamed(), "新版办事指南", c.now);
    assert!(plan.migratable, "{plan:#?}");
    let fate: Vec<(&str, &str, &str)> = plan
        .tasks
        .iter()
        .map(|t| (t.task.as_str(), t.change, t.after.as_str()))
        .collect();
    assert_eq!(
        fate,
        [
            ("a", "kept", "dispatched"),
            ("b", "removed", "removed"),
            ("c", "renamed", "waiting"),
            ("d", "added", "waiting")
        ]
    );
    let c2 = plan.tasks.iter().find(|t| t.task == "c").expect("c");
    assert_eq!((c2.clock, c2.time_limit.as_deref()), ("new", Some("5wd")));
    let events = c.exec(&migrate(&to)).expect("migrated");
    assert_eq!(c.describe(&events), ["case_migrated"]);
    assert_eq!(c.state.blueprint.version, 2);
    assert_eq!(c.status("c2"), UnitStatus::Waiting);
    // Approving `a` (its old index is its new one) starts `c2` and `d`.
    c.now += SignedDuration::from_mins(5);
    c.steps(&[Step::Approve("a")]);
    assert_eq!(c.status("c2"), UnitStatus::Dispatched);
    assert_eq!(c.status("d"), UnitStatus::Dispatched);
    // Stored events carry the version only: pinned again, they replay to the same state.
    let json = serde_json::to_string(&c.log).expect("serialise");
    let mut stored: Vec<Event> = serde_json::from_str(&json).expect("read back");
    assert_eq!(machine::versions(&stored), Some(vec![1, 2]));
    machine::pin_blueprints(&mut stored, |v| (v == 2).then(|| to.clone()));
    let replayed = replay(
        CaseState::new(CaseNo::new("C-1"), flow("cancel_dependants")),
        &stored,
    );
    assert_eq!(replayed.tasks, c.state.tasks);
    assert_eq!(replayed.blueprint.version, 2);
}

#[test]
fn a_case_whose_removed_task_is_dispatched_is_not_migratable_and_unchanged() {
    let to = v2();
    let mut c = Case::flow("cancel_dependants");
    c.steps(&[Step::Submit]);
    assert_eq!(c.status("b"), UnitStatus::Dispatched);
    let plan = yijian_engine::migrate::plan(&c.state, &to, &renamed(), "新版办事指南", c.now);
    assert!(!plan.migratable);
    assert!(
        plan.reasons
            .iter()
            .any(|r| r.contains("task `b` is dispatched")),
        "{:?}",
        plan.reasons
    );
    let before = snapshot(&c.state);
    let got = c.exec(&migrate(&to)).expect_err("refused");
    assert!(matches!(got, Rejection::NotMigratable { .. }), "{got:?}");
    assert_eq!(snapshot(&c.state), before);
    // A mapping onto nothing is named as such.
    let bad = BTreeMap::from([("c".to_owned(), "nonesuch".to_owned())]);
    let problems = machine::mapping_problems(c.bp(), &to, &bad);
    assert!(
        problems[0].contains("`nonesuch` is not a task of version 2"),
        "{problems:?}"
    );
}

#[test]
fn a_command_written_for_the_old_version_is_refused_after_the_migration() {
    let to = v2();
    let sub = Submission {
        form: form(json!({"with_b": false})),
        ..Submission::default()
    };
    let mut c = Case::new(flow("cancel_dependants"), sub);
    c.steps(&[Step::Submit]);
    c.exec(&migrate(&to)).expect("migrated");
    // Task index 2 was `c` in version 1; in version 2 it is `c2`, and the caller meant `c`.
    let a = c.task("a");
    let stale = dept(
        &c,
        "a",
        Action::Approve {
            task: a,
            output: json!({"no": "甲-1"}),
        },
    )
    .on_version(1);
    let before = snapshot(&c.state);
    let got = c.exec(&stale).expect_err("refused");
    assert_eq!(
        got,
        Rejection::VersionChanged {
            expected: 1,
            found: 2
        }
    );
    assert_eq!(snapshot(&c.state), before);
    let fresh = dept(
        &c,
        "a",
        Action::Approve {
            task: a,
            output: json!({"no": "甲-1"}),
        },
    )
    .on_version(2);
    c.exec(&fresh).expect("the same command for version 2");
}
