//! Table-driven `decide`/`apply` tests: every command, every outcome reachable today, every
//! rejection (each leaves the state as it was), technical retries, fan-out joins, licences,
//! supplements, and what every event records (actor, time, reason).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use yijian_definitions::{Blueprint, CheckOptions, OutputType, TaskIdx, check};
use yijian_engine::case::{Missing, Unit};
use yijian_engine::event::CancelCause;
use yijian_engine::*;

/// Three tasks: `a` and `b` in parallel (`b` only when `form.with_b`), `c` after `a`.
const FLOW: &str = r#"
yijian: 1
id: flow
version: 1
title: 流程
time_limit: 10wd
form:
  with_b: {type: boolean, default: true}
  note: {type: string, default: 无}
tasks:
  a: {title: 甲, department: x, input: {note: form.note}, output: {no: string}}
  b: {title: 乙, department: y, when: form.with_b, output: {no: string}}
  c: {title: 丙, department: x, after: [a], output: {no: string}}
result:
  on_reject: POLICY
  documents:
    甲证: tasks.a.output.no
    乙证: tasks.b.output.no
    丙证: tasks.c.output.no
"#;

/// Every kind of form field and material, a licence passed on, a fan-out, a conditional
/// task, an automatic task, typed outputs.
const FULL: &str = r#"
yijian: 1
id: full
version: 1
title: 全量
time_limit: 10wd
offered_when: form.eligible
form:
  name:     {type: string, required: true}
  area:     {type: number, min: 0, max: 1000}
  code:     {type: string, pattern: '^[0-9]{3}$'}
  kind:     {type: string, enum: [shop, stall]}
  count:    {type: integer}
  day:      {type: date}
  eligible: {type: boolean, default: true}
  big:      {type: boolean, default: false}
  note:     {type: string, default: 无}
  plan_no:  {type: string, required: form.big}
  partners:
    type: list
    required: true
    items: {name: {type: string, required: true}}
  addr:
    type: object
    fields: {city: {type: string}}
materials:
  id_card:     {title: 身份证, required: true, source: shared}
  lease:       {title: 租赁合同, required: true}
  plan:        {title: 平面图, required: form.big}
  licence_pdf: {title: 电子执照, source: task.licence}
tasks:
  licence:
    title: 执照
    department: market
    materials: [id_card, lease]
    input: {name: form.name, note: form.note}
    output: {no: string, licence_pdf: licence}
  permit:
    title: 许可
    department: health
    materials: [licence_pdf]
    input: {note: form.note}
    output: {no: string}
  check:
    title: 核验
    department: police
    for_each: form.partners
    as: partner
    input: {name: partner.name, note: form.note}
    output: {ok: boolean}
  sign:
    title: 招牌
    department: urban
    when: form.big
    commitment: allowed
  rule:
    title: 自动
    department: market
    mode: auto
    rule: form.area < 500
  survey:
    title: 勘验
    department: urban
    output: {count: integer, day: date, area: number}
"#;

/// One technical step with its own retry policy.
const RETRY: &str = r#"
yijian: 1
id: retry
version: 1
title: 重试
time_limit: 10wd
tasks:
  push:
    title: 推送
    department: x
    retry: {attempts: 5, backoff: 1s..5s}
    output: {no: string}
"#;

/// A fan-out joined before its dependant.
const FAN: &str = r#"
yijian: 1
id: fan
version: 1
title: 汇总
time_limit: 10wd
form:
  partners: {type: list, required: true, items: {name: {type: string}}}
tasks:
  check:
    title: 核验
    department: police
    for_each: form.partners
    as: partner
    input: {name: partner.name}
    output: {ok: boolean}
  summary:
    title: 汇总
    department: market
    after: [check]
    input: {checks: tasks.check}
    output: {no: string}
"#;

fn blueprint(text: &str) -> Arc<Blueprint> {
    let checked = check(text, &CheckOptions::default());
    checked
        .blueprint
        .unwrap_or_else(|| panic!("{text}\n{:#?}", checked.diagnostics))
}

fn flow(policy: &str) -> Arc<Blueprint> {
    blueprint(&FLOW.replace("POLICY", policy))
}

fn file(name: &str) -> MaterialRef {
    MaterialRef {
        name: name.to_owned(),
        sha256: String::new(),
        uri: Some(format!("oss://{name}")),
    }
}

fn form(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().expect("an object").clone()
}

/// A valid application to `FULL`: two partners, area 120 (the rule holds), no sign.
fn full_submission() -> Submission {
    Submission {
        form: form(
            json!({"name": "张三", "area": 120, "partners": [{"name": "甲"}, {"name": "乙"}]}),
        ),
        materials: BTreeMap::from([("lease".to_owned(), file("lease.pdf"))]),
        ..Submission::default()
    }
}

/// An output that fits the declaration.
fn good_output(bp: &Blueprint, r: TaskRef) -> Value {
    let mut out = serde_json::Map::new();
    for (name, ty) in &bp.spec(r.task).output {
        let v = match ty {
            OutputType::String => json!(format!("{}-{name}", r.name(bp))),
            OutputType::Number => json!(1.5),
            OutputType::Integer => json!(3),
            OutputType::Boolean => json!(true),
            OutputType::Date => json!("2026-03-02"),
            OutputType::List => json!([]),
            OutputType::Object => json!({}),
            OutputType::Licence => {
                json!({"name": format!("{name}.pdf"), "uri": format!("oss://{name}"), "sha256": ""})
            }
            other => panic!("no sample for {other:?}"),
        };
        out.insert(name.clone(), v);
    }
    Value::Object(out)
}

/// A step of a scripted case, by task name.
#[derive(Debug, Clone, Copy)]
enum Step {
    Submit,
    Approve(&'static str),
    Refuse(&'static str),
    Ask(&'static str),
    Supply,
    Withdraw(&'static [&'static str]),
    WithdrawCase,
    Cancel(&'static str),
    Fail(&'static str),
    Dispatch(&'static str),
}

struct Case {
    state: CaseState,
    log: Vec<Event>,
    now: Timestamp,
    submission: Submission,
}

impl Case {
    fn new(bp: Arc<Blueprint>, submission: Submission) -> Case {
        Case {
            state: CaseState::new(CaseNo::new("C-1"), bp),
            log: Vec::new(),
            now: "2026-03-02T01:00:00Z".parse().unwrap(),
            submission,
        }
    }

    fn flow(policy: &str) -> Case {
        Case::new(flow(policy), Submission::default())
    }

    fn full() -> Case {
        Case::new(blueprint(FULL), full_submission())
    }

    fn bp(&self) -> &Blueprint {
        &self.state.blueprint
    }

    fn task(&self, name: &str) -> TaskRef {
        TaskRef::parse(self.bp(), name).unwrap_or_else(|| panic!("no task {name}"))
    }

    fn unit(&self, name: &str) -> &Unit {
        self.state.unit(self.task(name)).unwrap()
    }

    fn status(&self, name: &str) -> UnitStatus {
        self.unit(name).status
    }

    fn dept(&self, name: &str) -> Actor {
        Actor::Department(self.bp().spec(self.task(name).task).department.clone())
    }

    /// Decides and applies; every event carries the decision's time.
    fn run(&mut self, actor: Actor, action: Action) -> Result<Vec<Event>, Rejection> {
        self.exec(&Command::new(actor, action))
    }

    /// Decides `cmd` as it is (with its scope, its lease) and applies.
    fn exec(&mut self, cmd: &Command) -> Result<Vec<Event>, Rejection> {
        let events = decide(&self.state, cmd, self.now)?;
        for e in &events {
            assert_eq!(e.at, self.now, "{e:?}");
            apply(&mut self.state, e);
        }
        self.log.extend(events.iter().cloned());
        Ok(events)
    }

    fn command(&self, step: Step) -> Command {
        let reason = || "理由".to_owned();
        let (actor, action) = match step {
            Step::Submit => (
                Actor::Window("w1".into()),
                Action::Submit(self.submission.clone()),
            ),
            Step::Approve(t) => {
                let task = self.task(t);
                let output = good_output(self.bp(), task);
                (self.dept(t), Action::Approve { task, output })
            }
            Step::Refuse(t) => (
                self.dept(t),
                Action::Refuse {
                    task: self.task(t),
                    reason: "不予许可".into(),
                },
            ),
            Step::Ask(t) => (
                self.dept(t),
                Action::RequestSupplement {
                    task: self.task(t),
                    missing: vec![Missing {
                        material: None,
                        field: Some("note".into()),
                        reason: "说明不清".into(),
                    }],
                },
            ),
            Step::Supply => (
                Actor::Applicant,
                Action::Supply {
                    via: None,
                    form: form(json!({"note": "补正说明"})),
                    materials: BTreeMap::new(),
                },
            ),
            Step::Withdraw(ts) => (
                Actor::Applicant,
                Action::Withdraw {
                    tasks: Some(ts.iter().map(|t| self.task(t)).collect()),
                    reason: "不再需要".into(),
                },
            ),
            Step::WithdrawCase => (
                Actor::Applicant,
                Action::Withdraw {
                    tasks: None,
                    reason: "申请人撤回".into(),
                },
            ),
            Step::Cancel(t) => (
                Actor::Operator("op".into()),
                Action::Cancel {
                    task: self.task(t),
                    reason: reason(),
                },
            ),
            Step::Fail(t) => (
                Actor::Engine,
                Action::Fail {
                    task: self.task(t),
                    error: "503".into(),
                    retry_in: None,
                    retries: None,
                },
            ),
            Step::Dispatch(t) => (
                Actor::Operator("op".into()),
                Action::Dispatch { task: self.task(t) },
            ),
        };
        Command::new(actor, action)
    }

    fn step(&mut self, step: Step) -> Result<Vec<Event>, Rejection> {
        let Command { actor, action, .. } = self.command(step);
        self.run(actor, action)
    }

    fn steps(&mut self, steps: &[Step]) {
        for &s in steps {
            self.step(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            self.now += SignedDuration::from_mins(5);
        }
    }

    fn describe(&self, events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e.kind.task() {
                Some(t) => format!("{}:{}", e.kind.name(), t.name(self.bp())),
                None => e.kind.name().to_owned(),
            })
            .collect()
    }

    fn replayed(&self) -> CaseState {
        replay(
            CaseState::new(self.state.case_no.clone(), self.state.blueprint.clone()),
            &self.log,
        )
    }
}

/// Everything a rejection must leave as it was.
fn snapshot(state: &CaseState) -> impl PartialEq + std::fmt::Debug + use<> {
    (
        state.version,
        state.phase,
        state.tasks.clone(),
        state.materials.clone(),
        state.form.clone(),
    )
}

mod actions;
mod audit;
mod changes;
mod failures;
mod fanout;
mod migrate;
mod outcomes;
mod regressions;
mod rejections;

// Helpers shared by the modules.

fn dept(c: &Case, task: &str, action: Action) -> Command {
    Command::new(c.dept(task), action)
}

fn approve(c: &Case, task: &str, output: Value) -> Command {
    let task_ref = c.task(task);
    dept(
        c,
        task,
        Action::Approve {
            task: task_ref,
            output,
        },
    )
}

fn supply(form_fields: Value, materials: &[(&str, MaterialRef)]) -> Command {
    Command::new(
        Actor::Applicant,
        Action::Supply {
            via: None,
            form: form(form_fields),
            materials: materials
                .iter()
                .map(|(k, m)| ((*k).to_owned(), m.clone()))
                .collect(),
        },
    )
}

fn ask(c: &Case, task: &str, missing: Vec<Missing>) -> Command {
    let r = c.task(task);
    dept(c, task, Action::RequestSupplement { task: r, missing })
}

fn missing(material: Option<&str>, field: Option<&str>, reason: &str) -> Missing {
    Missing {
        material: material.map(str::to_owned),
        field: field.map(str::to_owned),
        reason: reason.to_owned(),
    }
}

fn licence() -> Value {
    json!({"name": "l.pdf", "uri": "oss://l", "sha256": ""})
}
