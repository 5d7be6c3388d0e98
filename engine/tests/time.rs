//! Time limits and the government procedures, through the engine on a manual clock:
//! due dates across 春节 and 国庆 2026, warnings, 补正 pauses and abandonment, 容缺, 告知承诺,
//! 特殊环节, 好差评 and proactive cases. Dates are asserted exactly (Beijing time).

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::json;
use yijian_engine::case::{SpecialStep, Warning};
use yijian_engine::*;

fn bj(s: &str) -> Timestamp {
    format!("{s}+08:00")
        .parse()
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn catalog(id: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../definitions/catalog/{id}.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn engine(at: &str, yaml: &str) -> (Engine<MemoryStore>, ManualClock) {
    let clock = ManualClock::new(bj(at));
    let e = Engine::builder(MemoryStore::new())
        .clock(Arc::new(clock.clone()))
        .keep_closed_cases(true)
        .build()
        .await
        .unwrap();
    e.deploy(yaml).await.unwrap();
    (e, clock)
}

async fn at(e: &Engine<MemoryStore>, clock: &ManualClock, when: &str) {
    let t = bj(when);
    e.fire_timers(t).await;
    clock.set(t);
}

fn dept(d: &str) -> Actor {
    Actor::Department(d.into())
}

const SIMPLE: &str = r#"
yijian: 1
id: simple
version: 1
title: 简单
time_limit: 5wd
statutory_limit: 20wd
form:
  name: {type: string, required: true}
materials:
  lease: {title: 租赁合同, required: true, deferrable: 3wd}
tasks:
  licence:
    title: 营业执照
    department: market
    time_limit: 5wd
    materials: [lease]
    output: {no: string}
  review:
    title: 审查
    department: housing
    time_limit: 1wd
supplement: {respond_within: 5wd, pause: task}
evaluation: {rectify_within: 5wd}
"#;

fn form(name: &str) -> Submission {
    Submission {
        form: json!({"name": name})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ..Submission::default()
    }
}

fn with_lease(mut s: Submission) -> Submission {
    s.materials.insert(
        "lease".into(),
        MaterialRef {
            name: "lease.pdf".into(),
            sha256: String::new(),
            uri: None,
        },
    );
    s
}

fn req(bundle: &str, s: Submission) -> SubmitRequest {
    SubmitRequest {
        bundle: bundle.into(),
        submission: s,
        ..SubmitRequest::default()
    }
}

#[tokio::test]
async fn the_worked_example_across_spring_festival() {
    // Accepted Thu 2026-02-12, 5 working days: 02-14 is a working Saturday, 02-15..23 are
    // 春节 → due Thu 2026-02-26 24:00.
    let (e, _) = engine("2026-02-12T10:00:00", SIMPLE).await;
    let case = e
        .submit(req("simple", with_lease(form("a"))))
        .await
        .unwrap();
    assert_eq!(case.due, Some(bj("2026-02-26T23:59:59")));
    assert_eq!(
        case.task("licence").unwrap().due,
        Some(bj("2026-02-26T23:59:59"))
    );
    assert_eq!(
        case.task("review").unwrap().due,
        Some(bj("2026-02-13T23:59:59"))
    );
}

#[tokio::test]
async fn warnings_fire_across_national_day() {
    // Accepted Wed 2026-09-30, 1 working day → due Thu 2026-10-08 (国庆 10-01..07).
    let (e, clock) = engine("2026-09-30T09:00:00", SIMPLE).await;
    let case = e
        .submit(req("simple", with_lease(form("a"))))
        .await
        .unwrap();
    let review = case.task("review").unwrap();
    assert_eq!(review.due, Some(bj("2026-10-08T23:59:59")));
    // Yellow on the working day before the due day: that is 09-30 itself, from 00:00.
    at(&e, &clock, "2026-09-30T09:00:01").await;
    assert_eq!(
        e.case(&case.case_no)
            .await
            .unwrap()
            .task("review")
            .unwrap()
            .warning,
        Warning::Yellow
    );
    at(&e, &clock, "2026-10-08T23:59:59").await;
    assert_eq!(
        e.case(&case.case_no)
            .await
            .unwrap()
            .task("review")
            .unwrap()
            .warning,
        Warning::Yellow
    );
    at(&e, &clock, "2026-10-09T08:00:00").await;
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(v.task("review").unwrap().warning, Warning::Red);
    let red = e
        .events(&case.case_no)
        .await
        .unwrap()
        .into_iter()
        .find(|ev| ev.kind.name() == "warning_red")
        .unwrap();
    assert_eq!(
        red.at,
        bj("2026-10-09T00:00:00"),
        "red fires when the due day is over"
    );
}

#[tokio::test]
async fn a_supplement_pauses_the_task_clock_and_unanswered_it_abandons_the_case() {
    let (e, clock) = engine("2026-09-14T10:00:00", SIMPLE).await;
    let case = e
        .submit(req("simple", with_lease(form("a"))))
        .await
        .unwrap();
    // Mon 09-14 + 5 WD: 15, 16, 17, 18 and Sun 09-20 (国庆 make-up working day).
    assert_eq!(
        case.task("licence").unwrap().due,
        Some(bj("2026-09-20T23:59:59"))
    );
    // Tue 09-15: the department asks for a corrected lease.
    at(&e, &clock, "2026-09-15T11:00:00").await;
    let missing = vec![case::Missing {
        material: Some("lease".into()),
        field: None,
        reason: "合同已过期".into(),
    }];
    e.complete(
        &case.case_no,
        "licence",
        dept("market"),
        Decision::Supplement(missing),
    )
    .await
    .unwrap();
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(v.status, "awaiting_supplement");
    assert_eq!(v.supplement_notice.len(), 1);
    // 5 working days to answer: 16, 17, 18, 20 (make-up), 21.
    assert_eq!(v.respond_by, Some(bj("2026-09-21T23:59:59")));
    // Supplied Fri 09-18: the paused days 09-16..09-18 are excluded (09-15 was consumed).
    at(&e, &clock, "2026-09-18T15:00:00").await;
    let file = MaterialRef {
        name: "lease-v2.pdf".into(),
        sha256: String::new(),
        uri: None,
    };
    let supply = Action::Supply {
        via: None,
        form: Default::default(),
        materials: [("lease".to_owned(), file)].into(),
    };
    e.execute(&case.case_no, Command::new(Actor::Applicant, supply))
        .await
        .unwrap();
    let v = e.case(&case.case_no).await.unwrap();
    let licence = v.task("licence").unwrap();
    assert_eq!(
        (licence.status, licence.attempts),
        (UnitStatus::Dispatched, 2)
    );
    // 5 WD from 09-14: 15 (counted), then 20, 21, 22, 23 after the resume day 09-18.
    assert_eq!(licence.due, Some(bj("2026-09-23T23:59:59")));
    assert_eq!(v.respond_by, None);

    // A second request that is never answered abandons the case at the deadline.
    let missing = vec![case::Missing {
        material: None,
        field: Some("name".into()),
        reason: "与执照不符".into(),
    }];
    e.complete(
        &case.case_no,
        "licence",
        dept("market"),
        Decision::Supplement(missing),
    )
    .await
    .unwrap();
    let v = e.case(&case.case_no).await.unwrap();
    // 09-18 + 5 WD: 20, 21, 22, 23, 24.
    assert_eq!(v.respond_by, Some(bj("2026-09-24T23:59:59")));
    at(&e, &clock, "2026-09-30T00:00:00").await;
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(v.outcome.as_deref(), Some("abandoned"));
    // It closes when the deadline's day is over.
    assert_eq!(v.closed_at, Some(bj("2026-09-25T00:00:00")));
}

#[tokio::test]
async fn a_deferred_material_holds_the_decision_and_overdue_terminates() {
    let (e, clock) = engine("2026-03-02T09:00:00", SIMPLE).await;
    // 容缺: accepted without the lease; due 3 WD later, Thu 03-05.
    let case = e.submit(req("simple", form("a"))).await.unwrap();
    assert_eq!(case.deferred_materials.len(), 1);
    assert_eq!(
        case.deferred_materials[0].due,
        Some(bj("2026-03-05T23:59:59"))
    );
    let err = e
        .complete(
            &case.case_no,
            "licence",
            dept("market"),
            Decision::Approve(json!({"no": "1"})),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Rejected(Rejection::MaterialDeferred { .. })
        ),
        "{err}"
    );
    // Review does not use the lease and goes on.
    e.complete(
        &case.case_no,
        "review",
        dept("housing"),
        Decision::Approve(json!(null)),
    )
    .await
    .unwrap();
    at(&e, &clock, "2026-03-06T09:00:00").await;
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(v.task("licence").unwrap().status, UnitStatus::Terminated);
    assert_eq!(v.outcome.as_deref(), Some("partially_completed"));
}

#[tokio::test]
async fn supplying_a_deferred_material_in_time_releases_the_task() {
    let (e, clock) = engine("2026-03-02T09:00:00", SIMPLE).await;
    let case = e.submit(req("simple", form("a"))).await.unwrap();
    at(&e, &clock, "2026-03-04T10:00:00").await;
    let file = MaterialRef {
        name: "lease.pdf".into(),
        sha256: String::new(),
        uri: None,
    };
    let supply = Action::Supply {
        via: None,
        form: Default::default(),
        materials: [("lease".to_owned(), file)].into(),
    };
    e.execute(&case.case_no, Command::new(Actor::Applicant, supply))
        .await
        .unwrap();
    // The task gets the material (dispatched again) and may now be decided.
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(v.task("licence").unwrap().attempts, 2);
    assert!(v.deferred_materials.is_empty());
    e.complete(
        &case.case_no,
        "licence",
        dept("market"),
        Decision::Approve(json!({"no": "1"})),
    )
    .await
    .unwrap();
    at(&e, &clock, "2026-03-09T09:00:00").await;
    assert_eq!(
        e.case(&case.case_no)
            .await
            .unwrap()
            .task("licence")
            .unwrap()
            .status,
        UnitStatus::Approved
    );
}

#[tokio::test]
async fn a_special_step_excludes_its_days_from_the_limit() {
    let (e, clock) = engine("2026-06-01T09:00:00", SIMPLE).await;
    let case = e
        .submit(req("simple", with_lease(form("a"))))
        .await
        .unwrap();
    assert_eq!(
        case.task("licence").unwrap().due,
        Some(bj("2026-06-08T23:59:59"))
    );
    at(&e, &clock, "2026-06-02T10:00:00").await;
    let r = e.task_ref(&case.case_no, "licence").await.unwrap();
    let suspend = Action::Suspend {
        task: r,
        step: SpecialStep::PublicNotice,
        note: "公示5个工作日".into(),
        expected: None,
    };
    e.execute(&case.case_no, Command::new(dept("market"), suspend))
        .await
        .unwrap();
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(v.task("licence").unwrap().status, UnitStatus::Suspended);
    // No warning while suspended, even past the old due time.
    at(&e, &clock, "2026-06-12T10:00:00").await;
    assert_eq!(
        e.case(&case.case_no)
            .await
            .unwrap()
            .task("licence")
            .unwrap()
            .warning,
        Warning::Green
    );
    e.execute(
        &case.case_no,
        Command::new(dept("market"), Action::Resume { task: r }),
    )
    .await
    .unwrap();
    // 06-02 consumed; 06-03..06-12 excluded; 06-15, 16, 17 (端午 06-19 not reached) → 4 WD
    // counted so far: 06-02; then 15, 16, 17, 18 → due 06-18.
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(
        v.task("licence").unwrap().due,
        Some(bj("2026-06-18T23:59:59"))
    );
    assert_eq!(v.task("licence").unwrap().status, UnitStatus::Dispatched);
}

#[tokio::test]
async fn a_commitment_is_granted_at_once_and_a_failed_verification_revokes_it_after_closing() {
    let (e, clock) = engine("2026-09-18T09:00:00", &catalog("open-restaurant")).await;
    let mut s = Submission {
        form: json!({
            "uscc": "91320102MA1XXXXX0A", "shop_name": "张记小馆", "address": "南京市玄武区",
            "operator_name": "张三", "floor_area": 320, "food_categories": [{"category": "hot_food"}]
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
        ..Submission::default()
    };
    for m in [
        "lease",
        "floor_plan",
        "food_safety_rules",
        "fire_commitment",
        "fire_layout",
    ] {
        s.materials.insert(
            m.into(),
            MaterialRef {
                name: format!("{m}.pdf"),
                sha256: String::new(),
                uri: None,
            },
        );
    }
    let case = e.submit(req("open-restaurant", s)).await.unwrap();
    let fire = case.task("fire_check").unwrap();
    assert_eq!(
        fire.status,
        UnitStatus::Approved,
        "告知承诺: granted at once"
    );
    let verify = case.task("fire_check.verify").unwrap();
    assert_eq!(verify.status, UnitStatus::Dispatched);
    // verify_within: 20wd from Fri 09-18: 中秋 (09-25..27) and 国庆 (10-01..07) skipped,
    // the make-up days 09-20 and 10-10 counted.
    assert_eq!(verify.due, Some(bj("2026-10-22T23:59:59")));
    let pdf = json!({"name": "food.pdf", "uri": "https://x/food.pdf", "sha256": ""});
    e.complete(
        &case.case_no,
        "food_permit",
        dept("market"),
        Decision::Approve(json!({"permit_no": "JY1", "food_permit_pdf": pdf})),
    )
    .await
    .unwrap();
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(
        v.outcome.as_deref(),
        Some("completed"),
        "the open verification does not hold the case"
    );
    // The site check fails after the case closed: the grant is revoked.
    at(&e, &clock, "2026-10-20T10:00:00").await;
    e.complete(
        &case.case_no,
        "fire_check.verify",
        dept("fire"),
        Decision::Refuse("现场与承诺不符".into()),
    )
    .await
    .unwrap();
    let v = e.case(&case.case_no).await.unwrap();
    assert_eq!(v.task("fire_check").unwrap().status, UnitStatus::Revoked);
    assert_eq!(v.outcome.as_deref(), Some("completed"));
    let revoked = e
        .events(&case.case_no)
        .await
        .unwrap()
        .into_iter()
        .find(|ev| ev.kind.name() == "task_revoked")
        .unwrap();
    assert_eq!(revoked.reason.as_deref(), Some("现场与承诺不符"));
}

#[tokio::test]
async fn a_bad_evaluation_opens_a_rectification_with_its_deadline() {
    let (e, clock) = engine("2026-04-01T09:00:00", SIMPLE).await;
    let case = e
        .submit(req("simple", with_lease(form("a"))))
        .await
        .unwrap();
    let eval = || Action::Evaluate {
        grade: 2,
        department: Some("market".into()),
        comment: "等待太久".into(),
    };
    let err = e
        .execute(&case.case_no, Command::new(Actor::Applicant, eval()))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Rejected(Rejection::NotClosed)));
    e.complete(
        &case.case_no,
        "licence",
        dept("market"),
        Decision::Approve(json!({"no": "1"})),
    )
    .await
    .unwrap();
    e.complete(
        &case.case_no,
        "review",
        dept("housing"),
        Decision::Approve(json!(null)),
    )
    .await
    .unwrap();
    at(&e, &clock, "2026-04-02T10:00:00").await;
    let bad = Action::Evaluate {
        grade: 7,
        department: None,
        comment: String::new(),
    };
    assert!(
        e.execute(&case.case_no, Command::new(Actor::Applicant, bad))
            .await
            .is_err()
    );
    e.execute(&case.case_no, Command::new(Actor::Applicant, eval()))
        .await
        .unwrap();
    let v = e.case(&case.case_no).await.unwrap();
    let rect = v.task("rectify[0]").unwrap();
    assert_eq!(
        (rect.department.as_str(), rect.status),
        ("market", UnitStatus::Dispatched)
    );
    // 5 WD from Thu 04-02: 04-03, (清明 04-04..06), 04-07, 08, 09, 10 → due Fri 04-10.
    assert_eq!(rect.due, Some(bj("2026-04-10T23:59:59")));
    e.complete(
        &case.case_no,
        "rectify[0]",
        dept("market"),
        Decision::Approve(json!({"reply": "已回访"})),
    )
    .await
    .unwrap();
    assert_eq!(
        e.case(&case.case_no)
            .await
            .unwrap()
            .task("rectify[0]")
            .unwrap()
            .status,
        UnitStatus::Approved
    );
    // A good grade opens nothing.
    let good = Action::Evaluate {
        grade: 5,
        department: None,
        comment: "满意".into(),
    };
    e.execute(&case.case_no, Command::new(Actor::Applicant, good))
        .await
        .unwrap();
    assert_eq!(e.case(&case.case_no).await.unwrap().evaluations.len(), 2);
}

#[tokio::test]
async fn a_proactive_case_starts_its_clock_at_confirmation() {
    let yaml = SIMPLE.replace("supplement:", "trigger: {proposed: true}\nsupplement:");
    let (e, clock) = engine("2026-05-06T09:00:00", &yaml).await;
    let p = e
        .propose("simple", with_lease(form("a")), "hukou", "evt-1")
        .await
        .unwrap();
    assert_eq!((p.status.as_str(), p.due), ("proposed", None));
    assert!(p.tasks.iter().all(|t| t.status == UnitStatus::Waiting));
    // The same data event again: the same case.
    let again = e
        .propose("simple", with_lease(form("a")), "hukou", "evt-1")
        .await
        .unwrap();
    assert_eq!(again.case_no, p.case_no);
    at(&e, &clock, "2026-05-08T15:00:00").await;
    e.execute(&p.case_no, Command::new(Actor::Applicant, Action::Confirm))
        .await
        .unwrap();
    let v = e.case(&p.case_no).await.unwrap();
    assert_eq!(v.accepted_at, Some(bj("2026-05-08T15:00:00")));
    // 5 WD from Fri 05-08 (05-09 is a make-up Saturday): 05-09, 11, 12, 13, 14.
    assert_eq!(v.due, Some(bj("2026-05-14T23:59:59")));
    assert_eq!(v.task("licence").unwrap().status, UnitStatus::Dispatched);
    // A bundle without `trigger.proposed` refuses proposals.
    let (e2, _) = engine("2026-05-06T09:00:00", SIMPLE).await;
    let err = e2
        .propose("simple", with_lease(form("a")), "hukou", "evt-2")
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Rejected(Rejection::NotProactive)),
        "{err}"
    );
}

#[tokio::test]
async fn a_deployment_calendar_counts_its_own_holidays() {
    // A region's calendar loaded from a folder, without a build: 2027 with an invented
    // 春节 02-06..02-13 and a make-up Sunday 02-14.
    let dir = std::env::temp_dir().join(format!("yijian-cal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("demo.yaml"),
        "id: demo\ntitle: 测试日历\ntime_zone: Asia/Shanghai\nyears:\n  2027:\n    source: test data\n    holidays:\n      - { name: 春节, from: 2027-02-06, to: 2027-02-13 }\n    workdays:\n      - { date: 2027-02-14, for: 春节 }\n",
    )
    .unwrap();
    let mut cals = calendar::Calendars::builtin().unwrap();
    cals.load_dir(&dir).unwrap();
    let clock = ManualClock::new(bj("2027-02-05T10:00:00"));
    let e = Engine::builder(MemoryStore::new())
        .clock(Arc::new(clock))
        .calendars(cals)
        .build()
        .await
        .unwrap();
    let yaml = SIMPLE.replace("title: 简单\n", "title: 简单\ncalendar: demo\n");
    e.deploy(&yaml).await.unwrap();
    let case = e
        .submit(req("simple", with_lease(form("a"))))
        .await
        .unwrap();
    // Fri 02-05 + 1 WD: 02-06..13 off, Sun 02-14 is a working day.
    assert_eq!(
        case.task("review").unwrap().due,
        Some(bj("2027-02-14T23:59:59"))
    );
    // A bundle naming an unknown calendar is refused at deploy.
    let err = e
        .deploy(
            &SIMPLE
                .replace("title: 简单\n", "title: 简单\ncalendar: mars\n")
                .replace("id: simple", "id: other"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidBundle { .. }), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
