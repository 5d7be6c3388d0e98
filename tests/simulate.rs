//! `yijian simulate` and `yijian calendar add`, run as the real binary.
//!
//! Each scenario is a script in `tests/simulate/` on a shipped catalog bundle; its header
//! comment counts the working days by hand on the 2026 calendar (domain.md), and the test
//! asserts those due dates and the outcome exactly. Instants are Beijing time.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yijian(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_yijian"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run yijian");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a script (a path from the package root) and returns its JSON document.
pub(crate) fn run(script: &str) -> Value {
    let (code, out, err) = yijian(&["simulate", script, "--format", "json"]);
    assert_eq!(code, 0, "{script}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{script}: {e}\n{out}"))
}

pub(crate) fn scenario(name: &str) -> Value {
    run(&format!("tests/simulate/{name}.yaml"))
}

/// A Beijing-time instant as printed: `2026-03-05T23:59:59+08:00`.
pub(crate) fn bj(s: &str) -> String {
    format!("{s}+08:00")
}

/// The end of a due day.
pub(crate) fn due(day: &str) -> String {
    bj(&format!("{day}T23:59:59"))
}

/// Timeline entries of this event (and task, where given; `""` for the case's own).
pub(crate) fn entries<'a>(doc: &'a Value, event: &str, task: Option<&str>) -> Vec<&'a Value> {
    doc["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter(|e| e["event"] == event)
        .filter(|e| match task {
            None => true,
            Some("") => e.get("task").is_none(),
            Some(t) => e["task"] == t,
        })
        .collect()
}

/// The one entry of this event (and task).
pub(crate) fn one<'a>(doc: &'a Value, event: &str, task: Option<&str>) -> &'a Value {
    let found = entries(doc, event, task);
    assert_eq!(found.len(), 1, "{event} {task:?}: {found:#?}");
    found[0]
}

pub(crate) fn task<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let t = &doc["tasks"][name];
    assert!(t.is_object(), "no task {name}: {:#}", doc["tasks"]);
    t
}

#[test]
fn supplement_pauses_only_the_asking_task() {
    let doc = scenario("supplement-task-pause");
    let first = &entries(&doc, "task_dispatched", Some("food_permit"))[0];
    assert_eq!(first["due"], due("2026-03-05"));
    assert_eq!(first["detail"]["statutory_due"], due("2026-03-16"));
    let asked = one(&doc, "supplement_requested", Some("food_permit"));
    assert_eq!(asked["detail"]["respond_by"], due("2026-03-31"));
    assert_eq!(asked["detail"]["missing"].as_array().map(Vec::len), Some(2));
    let again = &entries(&doc, "task_dispatched", Some("food_permit"))[1];
    assert_eq!(again["at"], bj("2026-03-05T15:00:00"));
    assert_eq!(again["due"], due("2026-03-09"));
    assert_eq!(again["detail"]["statutory_due"], due("2026-03-18"));
    assert_eq!(again["detail"]["attempt"], 2);
    // No warning while the task waited for the applicant (its old yellow day was 03-04).
    let yellow = one(&doc, "warning_yellow", Some("food_permit"));
    assert_eq!(yellow["at"], bj("2026-03-06T00:00:00"));
    // The bundle's clock did not pause.
    assert!(entries(&doc, "case_due_changed", None).is_empty());
    assert_eq!(doc["case"]["due"], due("2026-03-09"));
    assert_eq!(doc["case"]["outcome"], "completed");
    assert_eq!(
        doc["case"]["documents"]["食品经营许可证"],
        "JY13201020031234"
    );
    assert_eq!(task(&doc, "food_permit")["attempts"], 2);
}

#[test]
fn supplement_with_pause_case_stops_the_whole_stage() {
    let doc = scenario("supplement-case-pause");
    let accepted = one(&doc, "case_accepted", None);
    assert_eq!(accepted["due"], due("2026-03-06"));
    assert_eq!(accepted["detail"]["statutory_due"], due("2026-04-01"));
    let review = &entries(&doc, "task_dispatched", Some("fire_design_review"))[0];
    assert_eq!(review["due"], due("2026-03-04"));
    assert_eq!(review["detail"]["statutory_due"], due("2026-03-23"));
    // Supplied Fri 03-06: the stage's 4 WD are 03-03, 03-09, 03-10, 03-11; its 22 statutory
    // WD end on Tue 04-07 (清明 04-04..04-06 skipped).
    let moved = one(&doc, "case_due_changed", None);
    assert_eq!(moved["at"], bj("2026-03-06T11:00:00"));
    assert_eq!(moved["due"], due("2026-03-11"));
    assert_eq!(moved["detail"]["statutory_due"], due("2026-04-07"));
    let review = &entries(&doc, "task_dispatched", Some("fire_design_review"))[1];
    assert_eq!(review["due"], due("2026-03-09"));
    assert_eq!(review["detail"]["statutory_due"], due("2026-03-26"));
    // The permit waits for the review's opinion, then has its own 2 WD.
    let permit = one(&doc, "task_dispatched", Some("permit"));
    assert_eq!(permit["at"], bj("2026-03-09T10:00:00"));
    assert_eq!(permit["due"], due("2026-03-11"));
    // The bundle's yellow warning: the working day before its new due day.
    assert_eq!(
        one(&doc, "warning_yellow", Some(""))["at"],
        bj("2026-03-10T00:00:00")
    );
    assert_eq!(doc["case"]["outcome"], "completed");
    assert_eq!(doc["case"]["due"], due("2026-03-11"));
    assert_eq!(
        doc["case"]["documents"]["建筑工程施工许可证"],
        "320102202603110101"
    );
}

#[test]
fn a_deferred_material_in_time_releases_the_held_decision() {
    let doc = scenario("deferred-in-time");
    let accepted = one(&doc, "case_accepted", None);
    assert_eq!(
        accepted["detail"]["deferred_due"]["lease"],
        due("2026-03-05")
    );
    let held = one(&doc, "rejected", Some("food_permit"));
    assert_eq!(held["at"], bj("2026-03-03T10:00:00"));
    assert_eq!(held["detail"]["code"], "material_deferred");
    let again = &entries(&doc, "task_dispatched", Some("food_permit"))[1];
    assert_eq!(again["at"], bj("2026-03-04T14:00:00"));
    assert_eq!(again["due"], due("2026-03-05"));
    assert!(entries(&doc, "material_overdue", None).is_empty());
    assert_eq!(doc["case"]["outcome"], "completed");
    assert_eq!(task(&doc, "food_permit")["status"], "approved");
}

#[test]
fn a_deferred_material_overdue_terminates_the_task_that_uses_it() {
    let doc = scenario("deferred-overdue");
    let overdue = one(&doc, "material_overdue", None);
    assert_eq!(overdue["at"], bj("2026-03-06T00:00:00"));
    assert_eq!(overdue["detail"]["material"], "lease");
    let stopped = one(&doc, "task_terminated", Some("food_permit"));
    assert_eq!(stopped["at"], bj("2026-03-06T00:00:00"));
    assert_eq!(task(&doc, "food_permit")["status"], "terminated");
    assert_eq!(task(&doc, "licence_check")["status"], "approved");
    assert_eq!(doc["case"]["outcome"], "partially_completed");
    assert_eq!(doc["case"]["closed_at"], bj("2026-03-06T00:00:00"));
}

#[test]
fn a_commitment_is_granted_then_revoked_after_closing() {
    let doc = scenario("commitment-revoked");
    let granted = one(&doc, "task_granted", Some("fire_check"));
    assert_eq!(granted["at"], bj("2026-09-18T09:00:00"));
    let verify = one(&doc, "task_dispatched", Some("fire_check.verify"));
    assert_eq!(verify["due"], due("2026-10-22"));
    assert_eq!(doc["case"]["closed_at"], bj("2026-09-21T16:00:00"));
    let revoked = one(&doc, "task_revoked", Some("fire_check"));
    assert_eq!(revoked["at"], bj("2026-10-20T10:00:00"));
    assert_eq!(
        revoked["detail"]["reason"],
        "现场疏散通道被占用，与承诺不符"
    );
    assert_eq!(revoked["detail"]["actor"], "department:fire");
    assert_eq!(task(&doc, "fire_check")["status"], "revoked");
    assert_eq!(task(&doc, "fire_check.verify")["status"], "rejected");
    // The case stays closed with its outcome; the food permit stands.
    assert_eq!(doc["case"]["outcome"], "completed");
    assert_eq!(
        doc["case"]["documents"]["食品经营许可证"],
        "JY13201020091801"
    );
}

#[test]
fn a_special_step_excludes_its_days() {
    let doc = scenario("special-step");
    let review = one(&doc, "task_dispatched", Some("archive_review"));
    assert_eq!(review["due"], due("2026-06-08"));
    let suspended = one(&doc, "task_suspended", Some("archive_review"));
    assert_eq!(suspended["detail"]["step"], "公示");
    assert_eq!(suspended["detail"]["actor"], "department:hrss");
    // Nothing warns while suspended, although the old due day (06-08) passed.
    for level in ["warning_yellow", "warning_red"] {
        for w in entries(&doc, level, Some("archive_review")) {
            let at = w["at"].as_str().unwrap_or_default();
            assert!(at > "2026-06-10T10:00:00+08:00", "{w}");
        }
    }
    let resumed = one(&doc, "task_resumed", Some("archive_review"));
    assert_eq!(resumed["at"], bj("2026-06-10T10:00:00"));
    assert_eq!(resumed["due"], due("2026-06-15"));
    assert_eq!(task(&doc, "archive_review")["status"], "approved");
    // The pension review: 5 WD across 端午.
    assert_eq!(task(&doc, "pension")["due"], due("2026-06-23"));
    assert_eq!(doc["case"]["due"], due("2026-06-23"));
    assert_eq!(doc["case"]["status"], "running");
}

#[test]
fn bad_ratings_open_rectifications() {
    let doc = scenario("evaluation");
    let early = one(&doc, "rejected", None);
    assert_eq!(early["detail"]["step"], "evaluate");
    assert_eq!(early["detail"]["code"], "not_closed");
    assert_eq!(doc["case"]["closed_at"], bj("2026-04-15T11:00:00"));
    let first = task(&doc, "rectify[0]");
    assert_eq!(
        first["department"], "housing",
        "the first task's department"
    );
    assert_eq!(first["due"], due("2026-04-23"));
    assert_eq!(first["status"], "approved");
    let second = task(&doc, "rectify[1]");
    assert_eq!(second["department"], "real_estate");
    assert_eq!(second["due"], due("2026-04-23"));
    assert_eq!(second["status"], "dispatched");
    assert_eq!(
        one(&doc, "warning_yellow", Some("rectify[1]"))["at"],
        bj("2026-04-22T00:00:00")
    );
    assert_eq!(
        one(&doc, "warning_red", Some("rectify[1]"))["at"],
        bj("2026-04-24T00:00:00")
    );
    // Three ratings, two rectifications: 满意 opens none.
    assert_eq!(entries(&doc, "evaluated", None).len(), 3);
    assert!(doc["tasks"].get("rectify[2]").is_none());
    assert_eq!(doc["case"]["outcome"], "completed");
}

#[test]
fn a_proposed_case_starts_when_confirmed() {
    let doc = scenario("proactive");
    let proposed = one(&doc, "case_proposed", None);
    assert_eq!(proposed["detail"]["source"], "hospital");
    assert_eq!(proposed["detail"]["actor"], "trigger:hospital");
    // The same data event again: the same case, nothing new.
    let again = one(&doc, "unchanged", None);
    assert_eq!(again["at"], bj("2026-05-07T10:00:00"));
    let early = one(&doc, "rejected", Some("birth_certificate"));
    assert_eq!(early["detail"]["code"], "not_confirmed");
    let accepted = one(&doc, "case_accepted", None);
    assert_eq!(accepted["at"], bj("2026-05-08T15:00:00"));
    assert_eq!(accepted["due"], due("2026-05-14"));
    assert_eq!(doc["case"]["accepted_at"], bj("2026-05-08T15:00:00"));
    assert_eq!(task(&doc, "birth_certificate")["due"], due("2026-05-09"));
    // 2 WD from Fri 05-08: Sat 05-09 (调休上班), Mon 05-11.
    assert_eq!(task(&doc, "birth_registration")["due"], due("2026-05-11"));
}

#[test]
fn a_refusal_cancels_only_its_dependants() {
    let doc = scenario("refusal");
    let refused = one(&doc, "task_rejected", Some("tax"));
    assert_eq!(refused["at"], bj("2026-03-10T10:00:00"));
    let transfer = one(&doc, "task_cancelled", Some("transfer"));
    assert_eq!(transfer["detail"]["cause"], "upstream");
    assert_eq!(transfer["detail"]["upstream"], "tax");
    for t in ["water", "power", "mortgage"] {
        assert_eq!(task(&doc, t)["status"], "cancelled", "{t}");
    }
    assert_eq!(task(&doc, "contract_filing")["status"], "approved");
    assert_eq!(doc["case"]["outcome"], "partially_completed");
    let docs = doc["case"]["documents"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(docs["网签备案"], "WQ20260309001");
    let late = one(&doc, "rejected", Some("transfer"));
    assert_eq!(late["detail"]["step"], "approve");
}

#[test]
fn withdrawing_one_task_leaves_the_rest_running() {
    let doc = scenario("withdraw-one");
    let withdrawn = one(&doc, "task_withdrawn", Some("driving_licence"));
    assert_eq!(withdrawn["at"], bj("2026-03-09T10:00:00"));
    assert_eq!(withdrawn["detail"]["actor"], "applicant");
    assert_eq!(task(&doc, "driving_licence")["status"], "withdrawn");
    assert_eq!(task(&doc, "death_certificate")["due"], due("2026-03-10"));
    assert_eq!(task(&doc, "pension_settlement")["due"], due("2026-03-16"));
    assert_eq!(task(&doc, "heir_check[1]")["status"], "approved");
    // A withdrawn item does not count against the outcome.
    assert_eq!(doc["case"]["outcome"], "completed");
    assert_eq!(doc["case"]["documents"]["户口注销证明"], "HK20260309001");
}

#[test]
fn a_technical_failure_is_retried_then_an_operator_retries_the_incident() {
    let doc = scenario("failure-retry");
    let failures = entries(&doc, "task_failed", Some("licence"));
    assert_eq!(failures.len(), 3);
    assert_eq!(failures[0]["detail"]["retry_at"], bj("2026-03-02T10:30:00"));
    assert_eq!(failures[1]["detail"]["retry_at"], bj("2026-03-02T12:00:00"));
    assert!(
        failures[2]["detail"].get("retry_at").is_none(),
        "an incident"
    );
    let dispatches = entries(&doc, "task_dispatched", Some("licence"));
    let times: Vec<&str> = dispatches
        .iter()
        .map(|d| d["at"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        times,
        [
            bj("2026-03-02T09:00:00"),
            bj("2026-03-02T10:30:00"),
            bj("2026-03-02T12:00:00"),
            bj("2026-03-02T14:00:00")
        ]
    );
    assert_eq!(dispatches[3]["detail"]["actor"], "operator:operator");
    assert!(dispatches.iter().all(|d| d["due"] == due("2026-03-03")));
    let licence = task(&doc, "licence");
    assert_eq!(
        (&licence["status"], &licence["attempts"]),
        (&"approved".into(), &4.into())
    );
    assert_eq!(task(&doc, "employee_insurance[0]")["status"], "approved");
    assert_eq!(task(&doc, "employee_insurance[1]")["status"], "approved");
    let cancelled = one(&doc, "task_cancelled", Some("bank"));
    assert_eq!(cancelled["detail"]["cause"], "operator");
    assert_eq!(task(&doc, "bank")["status"], "cancelled");
    assert_eq!(doc["case"]["status"], "running");
}

#[test]
fn limits_across_national_day_2026() {
    let doc = scenario("national-day");
    let accepted = one(&doc, "case_accepted", None);
    assert_eq!(accepted["due"], due("2026-10-09"));
    assert_eq!(accepted["detail"]["statutory_due"], due("2026-10-12"));
    let licence = one(&doc, "task_dispatched", Some("licence"));
    assert_eq!(licence["due"], due("2026-10-08"));
    assert_eq!(licence["detail"]["statutory_due"], due("2026-10-10"));
    for t in ["seal", "medical_insurance", "bank"] {
        let d = one(&doc, "task_dispatched", Some(t));
        assert_eq!(d["at"], bj("2026-10-08T10:00:00"), "{t}");
        assert_eq!(d["due"], due("2026-10-09"), "{t}");
    }
    assert_eq!(
        one(&doc, "warning_yellow", Some(""))["at"],
        bj("2026-10-08T00:00:00")
    );
    assert_eq!(
        one(&doc, "warning_red", Some("bank"))["at"],
        bj("2026-10-10T00:00:00")
    );
    assert_eq!(
        one(&doc, "warning_red", Some(""))["at"],
        bj("2026-10-10T00:00:00")
    );
    assert!(entries(&doc, "warning_red", Some("seal")).is_empty());
    assert_eq!(task(&doc, "bank")["warning"], "red");
    assert_eq!(doc["case"]["warning"], "red");
}

#[test]
fn limits_across_spring_festival_2026() {
    let doc = scenario("spring-festival");
    assert_eq!(doc["case"]["due"], due("2026-02-26"));
    assert_eq!(task(&doc, "birth_certificate")["due"], due("2026-02-13"));
    assert_eq!(task(&doc, "birth_registration")["due"], due("2026-02-24"));
    assert_eq!(task(&doc, "vaccination")["due"], due("2026-02-24"));
    // Yellow on the working day before the due day: the make-up Saturday.
    assert_eq!(
        one(&doc, "warning_yellow", Some("birth_registration"))["at"],
        bj("2026-02-14T00:00:00")
    );
    for t in ["medical_enrolment", "social_security_card"] {
        assert_eq!(task(&doc, t)["due"], due("2026-02-26"), "{t}");
        assert_eq!(
            one(&doc, "warning_red", Some(t))["at"],
            bj("2026-02-27T00:00:00"),
            "{t}"
        );
    }
    assert_eq!(
        one(&doc, "warning_red", Some(""))["at"],
        bj("2026-02-27T00:00:00")
    );
}

#[test]
fn the_open_restaurant_example_runs() {
    let doc = run("examples/simulate/open-restaurant.yaml");
    assert!(
        entries(&doc, "rejected", None).is_empty(),
        "{:#}",
        doc["timeline"]
    );
    assert_eq!(doc["case"]["outcome"], "partially_completed");
    assert_eq!(
        doc["case"]["documents"]["食品经营许可证"],
        "JY13201020092901"
    );
    assert_eq!(task(&doc, "signboard")["status"], "rejected");
    assert_eq!(task(&doc, "tobacco")["status"], "withdrawn");
    assert_eq!(task(&doc, "fire_check")["status"], "revoked");
    assert_eq!(task(&doc, "rectify[0]")["department"], "market");
    assert_eq!(task(&doc, "rectify[0]")["attempts"], 2);
    // The readable table (the default format) runs too.
    let (code, out, err) = yijian(&["simulate", "examples/simulate/open-restaurant.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("TIMELINE") && out.contains("food_permit"),
        "{out}"
    );
}

/// A scratch folder for this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("yijian-simulate-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

#[test]
fn a_bundle_file_next_to_the_script_is_used() {
    let dir = scratch("path");
    let bundle =
        std::fs::read_to_string(root().join("definitions/catalog/newborn.yaml")).expect("catalog");
    std::fs::write(dir.join("my-newborn.yaml"), bundle).expect("write");
    let script = "bundle: my-newborn.yaml\nsteps:\n  - at: 2026-02-12T10:00\n    \
                  trigger: {source: s, event_id: e, form: {child_name: a}}\n";
    std::fs::write(dir.join("script.yaml"), script).expect("write");
    let doc = run(dir.join("script.yaml").to_str().expect("utf-8"));
    // The form is incomplete: the proposal is refused with every problem at once.
    let refused = one(&doc, "rejected", None);
    assert_eq!(refused["detail"]["code"], "invalid_submission");
    assert!(doc["case"].is_null());
}

#[test]
fn a_bad_script_exits_2_and_says_where() {
    let dir = scratch("bad");
    let cases = [
        (
            "bundle: newborn\nsteps:\n  - at: 2026-03-02T09:00\n    aprove: {task: x}\n",
            ":4:5",
            "unknown field `aprove`",
        ),
        (
            "bundle: newborn\nsteps:\n  - {at: 2026-03-02T09:00, confirm: {}}\n  - {at: 2026-03-01T09:00, confirm: {}}\n",
            ":4:5",
            "steps must be in time order",
        ),
        (
            "bundle: newborn\nsteps:\n  - at: 2026-03-32T09:00\n    confirm: {}\n",
            ":3:9",
            "is not an instant",
        ),
        (
            "bundle: newborn\nsteps:\n  - at: 2026-03-02T09:00\n    suspend: {task: a, reason: 公告}\n",
            ":4:32",
            "expected one of 公示",
        ),
        (
            "bundle: newborn\nsteps:\n  - {at: 2026-03-02T09:00, confirm: {}, approve: {task: a}}\n",
            ":3:5",
            "a step has one action",
        ),
        (
            "bundle: no-such-bundle\nsteps:\n  - {at: 2026-03-02T09:00, confirm: {}}\n",
            ":1:9",
            "no bundle `no-such-bundle`",
        ),
        (
            "bundle: missing.yaml\nsteps:\n  - {at: 2026-03-02T09:00, confirm: {}}\n",
            ":1:9",
            "cannot read bundle",
        ),
    ];
    for (i, (text, place, message)) in cases.iter().enumerate() {
        let file = dir.join(format!("bad-{i}.yaml"));
        std::fs::write(&file, text).expect("write");
        let path = file.to_str().expect("utf-8");
        let (code, _, err) = yijian(&["simulate", path, "--format", "json"]);
        assert_eq!(code, 2, "{text}: {err}");
        assert!(err.contains(&format!("{path}{place}")), "{text}: {err}");
        assert!(err.contains(message), "{text}: {err}");
    }
}

#[test]
fn calendar_add_counts_the_worked_examples() {
    let (code, out, err) = yijian(&["calendar", "add", "2026-02-12", "5wd"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().next(), Some("2026-02-26T23:59:59+08:00"));
    assert!(out.contains("02-14 Sat (调休上班)"), "{out}");
    assert!(out.contains("2026-02-15 Sun – 2026-02-23 Mon"), "{out}");
    let (code, out, err) = yijian(&["calendar", "add", "2026-09-30", "1wd"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().next(), Some("2026-10-08T23:59:59+08:00"));
    assert!(out.contains("1 working day(s): 10-08 Thu"), "{out}");
    assert!(out.contains("2026-10-01 Thu – 2026-10-07 Wed"), "{out}");
    // Calendar days: day 20 is Sun 10-04, inside 国庆: moved to Thu 10-08.
    let (code, out, err) = yijian(&["calendar", "add", "2026-09-14", "20d"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().next(), Some("2026-10-08T23:59:59+08:00"));
    assert!(out.contains("the last is 2026-10-04 Sun"), "{out}");
}

#[test]
fn calendar_add_refuses_what_it_cannot_know() {
    for (args, message) in [
        (["2026-12-30", "5wd"], "does not know 2027-01-01"),
        (["2023-06-01", "1wd"], "does not know 2023-06-01"),
        (["2026-13-01", "5wd"], "is not a date"),
        (["2026-09-30", "5x"], "is not a duration"),
        (["2026-09-30", "3h"], "only working days"),
    ] {
        let (code, out, err) = yijian(&["calendar", "add", args[0], args[1]]);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
    }
    let (code, _, err) = yijian(&["calendar", "add", "2026-09-30", "1wd", "--calendar", "xz"]);
    assert_eq!(code, 2);
    assert!(err.contains("no calendar `xz`"), "{err}");
}

/// A folder with a 2027 calendar file. Test data, not the real 2027 notice: 元旦 on
/// Fri 01-01 to Sun 01-03, no make-up days.
fn calendars_2027(name: &str) -> PathBuf {
    let dir = scratch(name);
    let file = "id: cn\ntitle: 中华人民共和国法定节假日（测试）\ntime_zone: Asia/Shanghai\n\
                years:\n  2027:\n    source: test data\n    holidays:\n      \
                - {name: 元旦, from: 2027-01-01, to: 2027-01-03}\n    workdays: []\n";
    std::fs::write(dir.join("cn-2027.yaml"), file).expect("write");
    dir
}

#[test]
fn limits_past_the_known_years_are_noted_and_a_calendar_file_adds_the_year() {
    let dir = scratch("beyond");
    let script = "bundle: company-setup\nsteps:\n  - at: 2026-12-30T09:00\n    submit:\n      \
                  form: {company_name: 甲, company_type: sole_proprietorship, address: 乙, \
                  business_scope: 丙, registered_capital: 1, legal_rep_name: 丁, \
                  legal_rep_id_no: \"320102199001011234\", \
                  shareholders: [{name: 丁, id_no: \"320102199001011234\"}], \
                  open_bank_account: false}\n";
    let file = dir.join("beyond.yaml");
    std::fs::write(&file, script).expect("write");
    let file = file.to_str().expect("utf-8");
    // 2 WD from Wed 12-30 need 2027, which the built-in calendar does not know: no due date,
    // and the output says why (never a weekends-only guess).
    let doc = run(file);
    assert!(doc["case"]["due"].is_null(), "{:#}", doc["case"]);
    assert_eq!(task(&doc, "licence")["due"], due("2026-12-31"));
    let notes = doc["notes"].as_array().cloned().unwrap_or_default();
    assert!(
        notes.iter().any(|n| n
            .as_str()
            .is_some_and(|n| n.contains("the case has no due date"))),
        "{notes:?}"
    );
    let cals = calendars_2027("beyond-cal");
    let (code, out, err) = yijian(&[
        "simulate",
        file,
        "--format",
        "json",
        "--calendars",
        cals.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).expect("json");
    // 12-31 (1), 元旦 01-01..03, 01-04 (2); statutory 4 WD: 01-04, 01-05, 01-06.
    assert_eq!(doc["case"]["due"], due("2027-01-04"));
    assert_eq!(doc["case"]["statutory_due"], due("2027-01-06"));
    assert!(doc.get("notes").is_none(), "{:#}", doc["notes"]);
}

#[test]
fn calendar_add_loads_a_next_year_file() {
    let dir = calendars_2027("calendars");
    let dir = dir.to_str().expect("utf-8");
    let (code, out, err) = yijian(&["calendar", "add", "2026-12-30", "5wd", "--calendars", dir]);
    assert_eq!(code, 0, "{err}");
    // 12-31 (1), 元旦 01-01..03, 01-04..07 (5).
    assert_eq!(out.lines().next(), Some("2027-01-07T23:59:59+08:00"));
    assert!(out.contains("2027: test data"), "{out}");
}

// ---- Engine behaviour found while writing the scenarios (see the report). ----

/// Every timeline entry is at or after the one before it.
fn in_time_order(doc: &Value) -> Result<(), String> {
    let mut last = String::new();
    for e in doc["timeline"].as_array().into_iter().flatten() {
        let at = e["at"].as_str().unwrap_or_default().to_owned();
        if at < last {
            return Err(format!("{e} comes after {last}"));
        }
        last = at;
    }
    Ok(())
}

#[test]
fn warnings_are_never_dated_before_the_events_that_precede_them() {
    // A 1 WD task dispatched Thu 2026-02-12 10:00 is yellow on 02-12 itself: the engine
    // records the warning at 02-12 00:00, before the case existed.
    for name in ["spring-festival", "supplement-case-pause", "national-day"] {
        let doc = scenario(name);
        in_time_order(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn the_case_view_names_a_rectifications_department() {
    use std::sync::Arc;
    use yijian::engine::{
        Action, Actor, Command, Decision, Engine, ManualClock, MemoryStore, Submission,
        SubmitRequest,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let at = |s: &str| bj(s).parse::<jiff::Timestamp>().expect("instant");
        let clock = ManualClock::new(at("2026-03-02T09:00:00"));
        let e = Engine::builder(MemoryStore::new())
            .clock(Arc::new(clock.clone()))
            .keep_closed_cases(true)
            .build()
            .await
            .expect("engine");
        let yaml = std::fs::read_to_string(root().join("definitions/catalog/company-setup.yaml"))
            .expect("catalog");
        e.deploy(&yaml).await.expect("deploy");
        let form = serde_json::json!({
            "company_name": "甲", "company_type": "sole_proprietorship", "address": "乙",
            "business_scope": "丙", "registered_capital": 1, "legal_rep_name": "丁",
            "legal_rep_id_no": "320102199001011234",
            "shareholders": [{"name": "丁", "id_no": "320102199001011234"}],
            "need_invoice": false, "open_housing_fund": false, "open_bank_account": false
        });
        let mut submission = Submission {
            form: form.as_object().cloned().unwrap_or_default(),
            ..Submission::default()
        };
        submission.materials.insert(
            "address_proof".into(),
            yijian::engine::MaterialRef {
                name: "a.pdf".into(),
                sha256: String::new(),
                uri: None,
            },
        );
        let req = SubmitRequest {
            bundle: "company-setup".into(),
            submission,
            ..SubmitRequest::default()
        };
        let case = e.submit(req).await.expect("submit");
        let no = case.case_no.clone();
        let pdf = serde_json::json!({"name": "l.pdf", "uri": "x://l"});
        let answers = [
            (
                "licence",
                "market",
                serde_json::json!({"uscc": "U", "licence_no": "L", "licence_pdf": pdf}),
            ),
            (
                "seal",
                "police",
                serde_json::json!({"seal_record_no": "S", "e_seal": pdf}),
            ),
            (
                "medical_insurance",
                "medical_insurance",
                serde_json::json!({"unit_medical_no": "M"}),
            ),
        ];
        for (t, d, out) in answers {
            e.complete(&no, t, Actor::Department(d.into()), Decision::Approve(out))
                .await
                .expect(t);
        }
        let rate = Action::Evaluate {
            grade: 1,
            department: Some("medical_insurance".into()),
            comment: String::new(),
        };
        e.execute(&no, Command::new(Actor::Applicant, rate))
            .await
            .expect("evaluate");
        let view = e.case(&no).await.expect("case");
        let rect = view.task("rectify[0]").expect("a rectification");
        assert_eq!(rect.department, "medical_insurance");
    });
}

#[test]
fn an_optional_field_left_out_does_not_stop_a_task() {
    let doc = scenario("national-day");
    assert_eq!(task(&doc, "licence")["attempts"], 1);
    let dir = scratch("optional");
    let text = std::fs::read_to_string(root().join("tests/simulate/national-day.yaml"))
        .expect("script")
        .replace("        registered_capital: 100\n", "");
    let file = dir.join("national-day.yaml");
    std::fs::write(&file, text).expect("write");
    let doc = run(file.to_str().expect("utf-8"));
    assert!(
        entries(&doc, "task_failed", Some("licence")).is_empty(),
        "{:#}",
        doc["timeline"]
    );
    assert_eq!(
        one(&doc, "task_dispatched", Some("licence"))["due"],
        due("2026-10-08")
    );
}
