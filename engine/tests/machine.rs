//! Scenario tests of the pure machine on catalog bundles.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::json;
use yijian_definitions::{Blueprint, CheckOptions, check};
use yijian_engine::*;

fn catalog(id: &str) -> Arc<Blueprint> {
    let path = format!(
        "{}/../definitions/catalog/{id}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let checked = check(&text, &CheckOptions::default());
    checked
        .blueprint
        .unwrap_or_else(|| panic!("{path}: {:?}", checked.diagnostics))
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

struct Case {
    state: CaseState,
    log: Vec<Event>,
    now: Timestamp,
}

impl Case {
    fn new(bp: Arc<Blueprint>) -> Case {
        Case {
            state: CaseState::new(CaseNo::new("T-1"), bp),
            log: Vec::new(),
            now: at("2026-09-18T01:00:00Z"),
        }
    }
    fn run(&mut self, actor: Actor, action: Action) -> Result<Vec<Event>, Rejection> {
        let events = decide(&self.state, &Command::new(actor, action), self.now)?;
        for e in &events {
            apply(&mut self.state, e);
        }
        self.log.extend(events.clone());
        Ok(events)
    }
    fn task(&self, name: &str) -> TaskRef {
        TaskRef::parse(&self.state.blueprint, name).unwrap()
    }
    fn status(&self, name: &str) -> UnitStatus {
        self.state.unit(self.task(name)).unwrap().status
    }
    fn dept(&self, name: &str) -> Actor {
        let t = self.task(name);
        Actor::Department(self.state.blueprint.spec(t.task).department.clone())
    }
    fn approve(&mut self, name: &str, output: serde_json::Value) -> Result<Vec<Event>, Rejection> {
        let task = self.task(name);
        self.run(self.dept(name), Action::Approve { task, output })
    }
    fn replayed(&self) -> CaseState {
        replay(
            CaseState::new(self.state.case_no.clone(), self.state.blueprint.clone()),
            &self.log,
        )
    }
}

fn restaurant_form(area: f64, signboard: bool, partners: usize) -> Submission {
    let partners: Vec<_> = (0..partners)
        .map(|i| json!({"name": format!("合伙人{i}"), "id_no": format!("32010219900101{i:03}X")}))
        .collect();
    let mut form = json!({
        "uscc": "91320102MA1XXXXX0A",
        "shop_name": "张记小馆",
        "address": "南京市玄武区某路1号",
        "operator_name": "张三",
        "floor_area": area,
        "food_categories": [{"category": "hot_food"}],
        "has_signboard": signboard,
        "partners": partners,
    });
    if signboard {
        form["signboard_size"] = json!("3m×1m 门头");
    }
    let file = |n: &str| MaterialRef {
        name: n.to_owned(),
        sha256: String::new(),
        uri: Some(format!("oss://{n}")),
    };
    let mut materials = std::collections::BTreeMap::new();
    for m in ["lease", "floor_plan", "food_safety_rules"] {
        materials.insert(m.to_owned(), file(m));
    }
    if signboard {
        materials.insert("signboard_design".to_owned(), file("sign.pdf"));
    }
    if area > 300.0 {
        materials.insert("fire_commitment".to_owned(), file("fc.pdf"));
        materials.insert("fire_layout".to_owned(), file("fl.pdf"));
    }
    Submission {
        form: form.as_object().unwrap().clone(),
        materials,
        ..Submission::default()
    }
}

#[test]
fn restaurant_runs_to_completion_with_conditions_and_fan_out() {
    let mut c = Case::new(catalog("open-restaurant"));
    c.run(
        Actor::Window("w1".into()),
        Action::Submit(restaurant_form(120.0, true, 3)),
    )
    .unwrap();
    // licence_check is auto, the 3 partner checks are auto: food_permit and signboard dispatched.
    assert_eq!(c.status("licence_check"), UnitStatus::Approved);
    assert_eq!(c.status("partner_check"), UnitStatus::Approved);
    for i in 0..3 {
        assert_eq!(
            c.status(&format!("partner_check[{i}]")),
            UnitStatus::Approved
        );
    }
    assert_eq!(
        c.status("fire_check"),
        UnitStatus::Skipped,
        "120 m² needs no fire check"
    );
    assert_eq!(c.status("tobacco"), UnitStatus::Skipped);
    assert_eq!(c.status("food_permit"), UnitStatus::Dispatched);
    assert_eq!(c.status("signboard"), UnitStatus::Dispatched);
    let pdf = json!({"name": "food.pdf", "uri": "oss://food.pdf", "sha256": ""});
    c.approve(
        "food_permit",
        json!({"permit_no": "JY13201020000001", "food_permit_pdf": pdf}),
    )
    .unwrap();
    assert_eq!(c.state.status(), "running");
    c.approve("signboard", json!({"signboard_no": "ZP-001"}))
        .unwrap();
    assert_eq!(c.state.outcome(), Some(Outcome::Completed));
    assert_eq!(
        c.state.documents["食品经营许可证"],
        json!("JY13201020000001")
    );
    assert!(!c.state.documents.contains_key("烟草专卖零售许可证"));
    assert_eq!(c.replayed().version, c.state.version);
}

#[test]
fn bad_commands_are_rejected_and_change_nothing() {
    let mut c = Case::new(catalog("open-restaurant"));
    c.run(
        Actor::Window("w1".into()),
        Action::Submit(restaurant_form(120.0, true, 0)),
    )
    .unwrap();
    let before = c.state.version;
    let food = c.task("food_permit");
    // Output missing a declared field.
    let e = c
        .approve("food_permit", json!({"permit_no": "X"}))
        .unwrap_err();
    assert!(matches!(e, Rejection::InvalidOutput { .. }), "{e}");
    // Wrong type.
    let e = c
        .approve(
            "food_permit",
            json!({"permit_no": 7, "food_permit_pdf": {"name": "a", "uri": "u"}}),
        )
        .unwrap_err();
    assert!(matches!(e, Rejection::InvalidOutput { .. }), "{e}");
    // Another department.
    let e = c
        .run(
            Actor::Department("tax".into()),
            Action::Approve {
                task: food,
                output: json!({}),
            },
        )
        .unwrap_err();
    assert!(matches!(e, Rejection::WrongDepartment { .. }), "{e}");
    // A skipped task cannot be approved.
    let e = c
        .approve("tobacco", json!({"tobacco_licence_no": "Y"}))
        .unwrap_err();
    assert!(matches!(e, Rejection::TaskNotOpen { .. }), "{e}");
    // Refusal needs a reason.
    let e = c
        .run(
            c.dept("food_permit"),
            Action::Refuse {
                task: food,
                reason: " ".into(),
            },
        )
        .unwrap_err();
    assert_eq!(e, Rejection::ReasonRequired);
    assert_eq!(c.state.version, before);
    // Approving twice.
    c.approve(
        "food_permit",
        json!({"permit_no": "X", "food_permit_pdf": {"name": "a", "uri": "u"}}),
    )
    .unwrap();
    let e = c
        .approve(
            "food_permit",
            json!({"permit_no": "X", "food_permit_pdf": {"name": "a", "uri": "u"}}),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            Rejection::TaskNotOpen {
                status: UnitStatus::Approved,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn refusal_cancels_only_dependants_and_finished_work_stands() {
    let mut c = Case::new(catalog("open-restaurant"));
    let mut s = restaurant_form(120.0, true, 0);
    s.form.insert("sells_tobacco".into(), json!(true));
    s.materials.insert(
        "tobacco_layout".into(),
        MaterialRef {
            name: "t.pdf".into(),
            sha256: String::new(),
            uri: None,
        },
    );
    c.run(Actor::Window("w1".into()), Action::Submit(s))
        .unwrap();
    c.approve("signboard", json!({"signboard_no": "ZP-1"}))
        .unwrap();
    let tob = c.task("tobacco");
    c.run(
        c.dept("tobacco"),
        Action::Refuse {
            task: tob,
            reason: "距离学校过近".into(),
        },
    )
    .unwrap();
    assert_eq!(c.status("signboard"), UnitStatus::Approved);
    c.approve(
        "food_permit",
        json!({"permit_no": "F", "food_permit_pdf": {"name": "a", "uri": "u"}}),
    )
    .unwrap();
    assert_eq!(c.state.outcome(), Some(Outcome::PartiallyCompleted));
}

#[test]
fn submission_lists_every_problem_at_once() {
    let c = Case::new(catalog("open-restaurant"));
    let mut s = restaurant_form(120.0, true, 1);
    s.form.remove("shop_name");
    s.form.insert("floor_area".into(), json!("big"));
    s.form.insert("colour".into(), json!("red"));
    s.materials.remove("floor_plan");
    s.form["partners"][0]["id_no"] = json!("123");
    let e = decide(
        &c.state,
        &Command::new(Actor::Window("w".into()), Action::Submit(s)),
        c.now,
    )
    .unwrap_err();
    let Rejection::InvalidSubmission { problems } = e else {
        panic!("{e}")
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    for p in [
        "form.shop_name",
        "form.floor_area",
        "form.colour",
        "materials.floor_plan",
        "form.partners[0].id_no",
    ] {
        assert!(paths.contains(&p), "{p} missing from {paths:?}");
    }
}
