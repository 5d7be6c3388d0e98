//! Property tests of the pure machine on random bundles.
//!
//! Each case generates a random DAG bundle as YAML text (2–12 tasks; `after` edges only to
//! earlier tasks; some tasks conditional on a boolean form field, some fanned out over a list
//! of 0–3 elements, some decided by a rule; a random `result.on_reject`), compiles it with
//! `check`, submits a valid form and drives the case with a random script of commands on the
//! units open at each step (approve, refuse, ask for a supplement and supply it, fail and
//! retry, cancel a stuck unit, withdraw a task or the case, and commands that must be
//! refused), then finishes it by approving whatever is still open. Every decision and every
//! event is checked against the invariants in `Driver`; the end state against the bundle's
//! refusal policy and against a replay of the event log.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};
use yijian_definitions::{Blueprint, CheckOptions, OnReject, TaskIdx, check};
use yijian_engine::case::{Missing, TaskState};
use yijian_engine::*;

/// One generated task (task `i` of the bundle).
#[derive(Debug, Clone)]
struct TaskGen {
    /// Raw picks for `after`; task `i` waits for `pick % i` (none for the first task).
    after: Vec<usize>,
    /// `when: form.flag_i`, with the submitted value of the flag.
    when: Option<bool>,
    /// `for_each: form.items_i`, with the number of elements submitted.
    fan: Option<usize>,
    /// `mode: auto` with `rule: form.ok_i`, with the submitted value of `ok_i`.
    auto: Option<bool>,
    /// `retry: {attempts: 2, …}` instead of the default 3 attempts.
    short_retry: bool,
}

/// One generated bundle.
#[derive(Debug, Clone)]
struct BundleGen {
    tasks: Vec<TaskGen>,
    reject_bundle: bool,
}

impl BundleGen {
    fn after(&self, i: usize) -> BTreeSet<usize> {
        match i {
            0 => BTreeSet::new(),
            _ => self.tasks[i].after.iter().map(|p| p % i).collect(),
        }
    }

    fn yaml(&self) -> String {
        let mut y = String::from(
            "yijian: 1\nid: prop\nversion: 1\ntitle: 随机一件事\ntime_limit: 30wd\nform:\n  note: {type: string, default: n0}\n",
        );
        for (i, t) in self.tasks.iter().enumerate() {
            if t.when.is_some() {
                writeln!(y, "  flag_{i}: {{type: boolean, required: true}}").unwrap();
            }
            if t.fan.is_some() {
                writeln!(
                    y,
                    "  items_{i}: {{type: list, required: true, items: {{name: {{type: string}}}}}}"
                )
                .unwrap();
            }
            if t.auto.is_some() {
                writeln!(y, "  ok_{i}: {{type: boolean, required: true}}").unwrap();
            }
        }
        y.push_str("tasks:\n");
        for (i, t) in self.tasks.iter().enumerate() {
            writeln!(y, "  t{i}:\n    title: 事项{i}\n    department: d{}", i % 3).unwrap();
            let after = self.after(i);
            if !after.is_empty() {
                let names: Vec<String> = after.iter().map(|a| format!("t{a}")).collect();
                writeln!(y, "    after: [{}]", names.join(", ")).unwrap();
            }
            if t.when.is_some() {
                writeln!(y, "    when: form.flag_{i}").unwrap();
            }
            if t.fan.is_some() {
                writeln!(y, "    for_each: form.items_{i}").unwrap();
                writeln!(y, "    input: {{who: item.name, note: form.note}}").unwrap();
            } else {
                writeln!(y, "    input: {{note: form.note}}").unwrap();
            }
            match t.auto {
                Some(_) => writeln!(y, "    mode: auto\n    rule: form.ok_{i}").unwrap(),
                None => writeln!(y, "    output: {{no: string}}").unwrap(),
            }
            if t.short_retry {
                writeln!(y, "    retry: {{attempts: 2, backoff: 1s..4s}}").unwrap();
            }
        }
        let policy = match self.reject_bundle {
            true => "reject_bundle",
            false => "cancel_dependants",
        };
        writeln!(y, "result:\n  on_reject: {policy}").unwrap();
        y
    }

    fn blueprint(&self) -> Arc<Blueprint> {
        let text = self.yaml();
        let checked = check(&text, &CheckOptions::default());
        checked
            .blueprint
            .unwrap_or_else(|| panic!("{text}\n{:#?}", checked.diagnostics))
    }

    fn submission(&self) -> Submission {
        let mut form = Map::new();
        for (i, t) in self.tasks.iter().enumerate() {
            if let Some(flag) = t.when {
                form.insert(format!("flag_{i}"), json!(flag));
            }
            if let Some(n) = t.fan {
                let items: Vec<Value> = (0..n).map(|k| json!({"name": format!("e{k}")})).collect();
                form.insert(format!("items_{i}"), Value::Array(items));
            }
            if let Some(ok) = t.auto {
                form.insert(format!("ok_{i}"), json!(ok));
            }
        }
        Submission {
            form,
            ..Submission::default()
        }
    }
}

/// One scripted step: what kind of command, on which unit, with which variant.
#[derive(Debug, Clone, Copy)]
struct Step {
    kind: u8,
    pick: u8,
    sub: u8,
}

fn task_gen(max_items: usize) -> impl Strategy<Value = TaskGen> {
    (
        prop::collection::vec(0usize..12, 0..3),
        prop::option::weighted(0.3, any::<bool>()),
        prop::option::weighted(0.3, 0..=max_items),
        prop::option::weighted(0.25, prop::bool::weighted(0.7)),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(after, when, fan, auto, short_retry)| TaskGen {
            after,
            when,
            fan,
            auto,
            short_retry,
        })
}

/// Bundles; with `reject_bundle`, fan-outs get at most `max_items_all_or_nothing`
/// elements: more hits the machine bugs that `commands.rs` `machine_bug_*` pin down.
fn bundle_gen(max_items_all_or_nothing: usize) -> impl Strategy<Value = BundleGen> {
    any::<bool>().prop_flat_map(move |reject_bundle| {
        let max = if reject_bundle {
            max_items_all_or_nothing
        } else {
            3
        };
        prop::collection::vec(task_gen(max), 2..=12).prop_map(move |tasks| BundleGen {
            tasks,
            reject_bundle,
        })
    })
}

fn script() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (0u8..100, any::<u8>(), any::<u8>()).prop_map(|(kind, pick, sub)| Step { kind, pick, sub }),
        0..40,
    )
}

fn config() -> Config {
    Config {
        cases: 256,
        // Only the two test files are ours: no regression files next to them.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Every unit of a case, fan-out tasks included as a whole: `(task, instance)` → status.
fn statuses(state: &CaseState) -> BTreeMap<(usize, Option<u32>), UnitStatus> {
    let mut out = BTreeMap::new();
    for (i, t) in state.tasks.iter().enumerate() {
        out.insert((i, None), t.unit.status);
        for (n, u) in t.instances.iter().flatten().enumerate() {
            out.insert((i, Some(n as u32)), u.status);
        }
    }
    out
}

fn department(state: &CaseState, r: TaskRef) -> Actor {
    Actor::Department(state.blueprint.spec(r.task).department.clone())
}

fn is_auto(bp: &Blueprint, r: TaskRef) -> bool {
    !matches!(
        bp.spec(r.task).mode,
        yijian_definitions::TaskMode::Decide { .. }
    )
}

/// Every task downstream of `from`, transitively.
fn downstream(bp: &Blueprint, from: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from];
    while let Some(i) = stack.pop() {
        for d in &bp.tasks[i].downstream {
            if seen.insert(d.index()) {
                stack.push(d.index());
            }
        }
    }
    seen
}

/// Two states are the same case state.
fn assert_same(a: &CaseState, b: &CaseState, what: &str) {
    assert_eq!(a.version, b.version, "{what}");
    assert_eq!(a.phase, b.phase, "{what}");
    assert_eq!(a.tasks, b.tasks, "{what}");
    assert_eq!(a.materials, b.materials, "{what}");
    assert_eq!(a.form, b.form, "{what}");
    assert_eq!(a.documents, b.documents, "{what}");
    assert_eq!(a.closed_at, b.closed_at, "{what}");
}

/// A case driven command by command, every event checked before and after it is applied.
struct Driver {
    state: CaseState,
    log: Vec<Event>,
    now: Timestamp,
    approved: BTreeSet<TaskRef>,
    refused: BTreeSet<usize>,
    withdrawn: BTreeSet<usize>,
    case_withdrawn: bool,
    closed: bool,
}

impl Driver {
    fn new(bp: Arc<Blueprint>) -> Driver {
        Driver {
            state: CaseState::new(CaseNo::new("P-1"), bp),
            log: Vec::new(),
            now: "2026-03-02T01:00:00Z".parse().unwrap(),
            approved: BTreeSet::new(),
            refused: BTreeSet::new(),
            withdrawn: BTreeSet::new(),
            case_withdrawn: false,
            closed: false,
        }
    }

    fn run(&mut self, actor: Actor, action: Action) -> Result<Vec<Event>, Rejection> {
        let cmd = Command::new(actor, action);
        let (version, before) = (self.state.version, statuses(&self.state));
        let result = decide(&self.state, &cmd, self.now);
        // Pure: the same state, command and instant decide the same events.
        assert_eq!(decide(&self.state, &cmd, self.now), result, "{cmd:?}");
        // Deciding in place decides the same, and leaves a rejected command's state as it was.
        let mut in_place = self.state.clone();
        let in_place_result = decide_in_place(&mut in_place, &cmd, self.now);
        assert_eq!(in_place_result, result, "{cmd:?}");
        if result.is_err() {
            assert_same(
                &in_place,
                &self.state,
                &format!("{cmd:?} rejected in place"),
            );
        }
        match &result {
            Err(rejection) => {
                assert!(
                    !matches!(rejection, Rejection::CaseClosed) || self.closed,
                    "CaseClosed on an open case: {cmd:?}"
                );
                assert_eq!(self.state.version, version, "{cmd:?} rejected: {rejection}");
                assert_eq!(
                    statuses(&self.state),
                    before,
                    "{cmd:?} rejected: {rejection}"
                );
            }
            Ok(events) => {
                assert!(!self.closed, "{cmd:?} accepted on a closed case");
                for e in events {
                    self.check_and_apply(e);
                }
                if self.state.blueprint.on_reject == OnReject::RejectBundle
                    && !self.refused.is_empty()
                {
                    assert!(
                        self.closed,
                        "a refusal in an all-or-nothing bundle closes it"
                    );
                }
            }
        }
        if result.is_ok() {
            assert_same(&in_place, &self.state, &format!("{cmd:?} decided in place"));
        }
        self.now += SignedDuration::from_mins(1);
        result
    }

    fn check_and_apply(&mut self, e: &Event) {
        let bp = self.state.blueprint.clone();
        assert!(!self.closed, "an event after CaseClosed: {e:?}");
        assert_eq!(e.at, self.now, "{e:?}");
        match &e.kind {
            EventKind::TaskDispatched { task, .. } | EventKind::TaskFannedOut { task, .. } => {
                for up in &bp.spec(task.task).upstream {
                    let s = self.state.tasks[up.index()].unit.status;
                    assert!(
                        s.lets_dependants_run(),
                        "{} dispatched while upstream {} is {s}",
                        task.name(&bp),
                        bp.spec(*up).id
                    );
                }
            }
            EventKind::TaskApproved { task, .. } => {
                assert!(
                    self.approved.insert(*task),
                    "{} approved twice",
                    task.name(&bp)
                );
            }
            EventKind::TaskRejected { task } => {
                assert!(e.reason.is_some(), "a refusal without reason: {e:?}");
                self.refused.insert(task.task.index());
            }
            EventKind::TaskWithdrawn { task } => {
                assert!(e.reason.is_some(), "a withdrawal without reason: {e:?}");
                self.withdrawn.insert(task.task.index());
            }
            EventKind::CaseWithdrawn => {
                assert!(e.reason.is_some(), "a withdrawal without reason: {e:?}");
                self.case_withdrawn = true;
            }
            EventKind::CaseClosed { .. } => self.closed = true,
            _ => {}
        }
        if let Some(r) = e.kind.task() {
            assert!(
                self.state.unit(r).is_some() || matches!(e.kind, EventKind::TaskFannedOut { .. }),
                "{e:?} names no unit of the case"
            );
        }
        let before = statuses(&self.state);
        let version = self.state.version;
        apply(&mut self.state, e);
        assert_eq!(self.state.version, version + 1);
        self.log.push(e.clone());
        let after = statuses(&self.state);
        for (key, s) in &before {
            if s.is_final() {
                assert_eq!(
                    after.get(key),
                    Some(s),
                    "unit {key:?} was {s} (final) and changed with {e:?}"
                );
            }
        }
    }

    fn open_units(&self) -> Vec<(TaskRef, UnitStatus)> {
        self.state
            .units()
            .filter(|(_, u)| u.status.is_open())
            .map(|(r, u)| (r, u.status))
            .collect()
    }

    fn approve(&mut self, r: TaskRef) -> Result<Vec<Event>, Rejection> {
        let actor = department(&self.state, r);
        self.run(
            actor,
            Action::Approve {
                task: r,
                output: json!({"no": "X"}),
            },
        )
    }

    fn supply(&mut self, note: String) {
        let waiting: BTreeSet<TaskRef> = self
            .state
            .units()
            .filter(|(_, u)| u.status == UnitStatus::SupplementRequested)
            .map(|(r, _)| r)
            .collect();
        let mut form = Map::new();
        form.insert("note".into(), json!(note));
        let events = self
            .run(
                Actor::Applicant,
                Action::Supply {
                    via: None,
                    form,
                    materials: BTreeMap::new(),
                },
            )
            .expect("supplying the asked field");
        let mut redispatched = BTreeSet::new();
        for e in &events {
            if let EventKind::TaskDispatched { task, input, .. } = &e.kind {
                assert_eq!(input["note"], json!(note), "{e:?}");
                redispatched.insert(*task);
            }
        }
        assert_eq!(
            redispatched, waiting,
            "supply re-dispatches the waiting units"
        );
    }

    /// One scripted step.
    fn step(&mut self, s: Step) {
        let open = self.open_units();
        let ntasks = self.state.tasks.len();
        match s.kind {
            0..75 => {
                let Some(&(r, status)) = open.get(s.pick as usize % open.len().max(1)) else {
                    return;
                };
                self.progress(r, status, s.sub);
            }
            75..85 => self.probe(s),
            85..97 => {
                let t = TaskRef::task(TaskIdx((s.pick as usize % ntasks) as u32));
                let was = self.state.tasks[t.task.index()].unit.status;
                let res = self.run(
                    Actor::Applicant,
                    Action::Withdraw {
                        tasks: Some(vec![t]),
                        reason: "不再需要".into(),
                    },
                );
                match (was.is_final(), res) {
                    (false, Ok(_)) | (true, Err(Rejection::TaskNotOpen { .. })) => {}
                    (_, res) => panic!("withdrawing a {was} task: {res:?}"),
                }
            }
            _ => {
                self.run(
                    Actor::Applicant,
                    Action::Withdraw {
                        tasks: None,
                        reason: "申请人撤回".into(),
                    },
                )
                .expect("a running case can be withdrawn");
                assert_eq!(self.state.outcome(), Some(Outcome::Withdrawn));
            }
        }
    }

    /// A regular command on an open unit.
    fn progress(&mut self, r: TaskRef, status: UnitStatus, sub: u8) {
        let dept = department(&self.state, r);
        let refuse = Action::Refuse {
            task: r,
            reason: "不符合条件".into(),
        };
        let res = match (status, sub % 8) {
            (UnitStatus::Dispatched, 0..=3) | (UnitStatus::RetryWait, 6) => self.approve(r),
            (UnitStatus::Dispatched, 4) | (_, 7) => self.run(dept, refuse),
            (UnitStatus::Dispatched, 5) => self.run(
                dept,
                Action::RequestSupplement {
                    task: r,
                    missing: vec![Missing {
                        material: None,
                        field: Some("note".into()),
                        reason: "请补充说明".into(),
                    }],
                },
            ),
            (UnitStatus::Dispatched, _) => self.fail(r),
            (UnitStatus::SupplementRequested, _) => {
                let note = format!("补正{}", self.state.version);
                self.supply(note);
                return;
            }
            (UnitStatus::RetryWait | UnitStatus::Incident, 5) => self.run(
                Actor::Operator("op".into()),
                Action::Cancel {
                    task: r,
                    reason: "运维取消".into(),
                },
            ),
            (UnitStatus::RetryWait | UnitStatus::Incident, _) => self.redispatch(r, status),
            (other, _) => panic!("{other} is not open"),
        };
        if let Err(e) = res {
            panic!(
                "{} ({status}) sub {sub}: {e}",
                r.name(&self.state.blueprint)
            );
        }
    }

    /// A technical failure: a retry with backoff until the attempts are spent, then an incident.
    fn fail(&mut self, r: TaskRef) -> Result<Vec<Event>, Rejection> {
        let attempts = self.state.unit(r).unwrap().attempts;
        let now = self.now;
        let res = self.run(
            Actor::Engine,
            Action::Fail {
                task: r,
                error: "connection refused".into(),
                retry_in: None,
                retries: None,
            },
        );
        let u = self.state.unit(r).unwrap();
        let limit = self.state.blueprint.spec(r.task).retry.attempts;
        assert_eq!(u.attempts, attempts);
        if u.failures < limit {
            assert_eq!(u.status, UnitStatus::RetryWait, "{u:?}");
            assert!(u.retry_at.is_some_and(|t| t > now), "{u:?}");
        } else {
            assert_eq!(u.status, UnitStatus::Incident, "{u:?}");
            assert_eq!(u.retry_at, None);
        }
        res
    }

    /// A due retry, or an operator retrying an incident.
    fn redispatch(&mut self, r: TaskRef, status: UnitStatus) -> Result<Vec<Event>, Rejection> {
        let before = self.state.unit(r).unwrap().clone();
        let res = self.run(Actor::Operator("op".into()), Action::Dispatch { task: r });
        let u = self.state.unit(r).unwrap();
        assert_eq!(u.status, UnitStatus::Dispatched);
        assert_eq!(u.attempts, before.attempts + 1);
        let failures = match status {
            UnitStatus::Incident => 0,
            _ => before.failures,
        };
        assert_eq!(
            u.failures, failures,
            "an operator retry resets the failures"
        );
        res
    }

    /// A command that may or must be refused, on any unit.
    fn probe(&mut self, s: Step) {
        let units: Vec<(TaskRef, UnitStatus)> =
            self.state.units().map(|(r, u)| (r, u.status)).collect();
        let Some(&(r, status)) = units.get(s.pick as usize % units.len().max(1)) else {
            return;
        };
        let bp = self.state.blueprint.clone();
        let dept = department(&self.state, r);
        let approvable = matches!(
            status,
            UnitStatus::Dispatched | UnitStatus::RetryWait | UnitStatus::Incident
        ) && !is_auto(&bp, r);
        // A fan-out task not fanned out yet is named as a whole: decided per instance.
        let whole_fan_out = r.instance.is_none() && bp.spec(r.task).for_each.is_some();
        let approvable = approvable && !whole_fan_out;
        let not_open = |e: &Rejection| match whole_fan_out {
            true => matches!(e, Rejection::InstanceRequired { .. }),
            false => matches!(e, Rejection::TaskNotOpen { .. }),
        };
        let name = r.name(&bp);
        match s.sub % 4 {
            0 => {
                let res = self.approve(r);
                assert_eq!(
                    res.is_ok(),
                    approvable,
                    "approving {name} ({status}): {res:?}"
                );
                if let Err(e) = res {
                    assert!(not_open(&e), "{e}");
                }
            }
            1 => {
                let res = self.run(
                    dept,
                    Action::Refuse {
                        task: r,
                        reason: "  ".into(),
                    },
                );
                let e = res.expect_err("a refusal without reason");
                assert!(
                    matches!(e, Rejection::ReasonRequired) || not_open(&e),
                    "{e}"
                );
            }
            2 => {
                let res = self.run(
                    dept,
                    Action::Approve {
                        task: r,
                        output: json!({"no": 1}),
                    },
                );
                let e = res.expect_err("an output of the wrong type");
                let expected = if approvable {
                    matches!(e, Rejection::InvalidOutput { .. })
                } else {
                    not_open(&e)
                };
                assert!(expected, "{name} ({status}): {e}");
            }
            _ => {
                let res = self.run(
                    Actor::Department("nobody".into()),
                    Action::Approve {
                        task: r,
                        output: json!({"no": "X"}),
                    },
                );
                assert!(
                    matches!(res, Err(Rejection::WrongDepartment { .. })),
                    "{res:?}"
                );
            }
        }
    }

    /// Approves and supplies whatever is open until the case closes.
    fn drain(&mut self) {
        for _ in 0..500 {
            if self.closed {
                return;
            }
            let open = self.open_units();
            let Some(&(r, status)) = open.first() else {
                panic!(
                    "nothing is open but the case is not closed: {:#?}",
                    statuses(&self.state)
                );
            };
            match status {
                UnitStatus::SupplementRequested => self.supply("补正完成".into()),
                _ => {
                    self.approve(r).expect("approving an open unit");
                }
            }
        }
        panic!("the case did not end");
    }

    /// The end state: closed, every unit final, the policy's outcome, replay.
    fn check_end(&self) {
        let bp = &self.state.blueprint;
        assert!(self.state.is_closed());
        for (key, s) in statuses(&self.state) {
            assert!(s.is_final(), "unit {key:?} is {s} in a closed case");
        }
        for r in &self.approved {
            assert_eq!(self.state.unit(*r).unwrap().status, UnitStatus::Approved);
        }
        let outcome = self.state.outcome().unwrap();
        let task_status = |i: usize| self.state.tasks[i].unit.status;
        let all = 0..self.state.tasks.len();
        if self.case_withdrawn {
            assert_eq!(outcome, Outcome::Withdrawn);
        } else if bp.on_reject == OnReject::RejectBundle && !self.refused.is_empty() {
            assert_eq!(
                outcome,
                Outcome::Refused,
                "all-or-nothing with a refusal: {:#?}",
                statuses(&self.state)
            );
        } else if all.clone().all(|i| task_status(i).lets_dependants_run()) {
            assert_eq!(outcome, Outcome::Completed);
        } else if bp.on_reject == OnReject::CancelDependants && self.withdrawn.is_empty() {
            let delivered = all.clone().any(|i| task_status(i) == UnitStatus::Approved);
            let refused = all.clone().any(|i| task_status(i) == UnitStatus::Rejected);
            // Nothing delivered: refused when a department refused, terminated when the
            // work was only stopped (operator cancellations).
            let expected = match (delivered, refused) {
                (true, _) => Outcome::PartiallyCompleted,
                (false, true) => Outcome::Refused,
                (false, false) => Outcome::Terminated,
            };
            assert_eq!(outcome, expected, "{:#?}", statuses(&self.state));
        }
        if bp.on_reject == OnReject::CancelDependants {
            for &r in &self.refused {
                for d in downstream(bp, r) {
                    assert!(
                        matches!(
                            task_status(d),
                            UnitStatus::Cancelled | UnitStatus::Withdrawn
                        ),
                        "{} is downstream of refused {} but {}",
                        bp.tasks[d].id,
                        bp.tasks[r].id,
                        task_status(d)
                    );
                }
            }
        }
        self.check_replay();
    }

    fn check_replay(&self) {
        let live = &self.state;
        let replayed = replay(
            CaseState::new(live.case_no.clone(), live.blueprint.clone()),
            &self.log,
        );
        assert_eq!(replayed.version, live.version);
        assert_eq!(replayed.version, self.log.len() as u64);
        assert_eq!(replayed.phase, live.phase);
        let view = |t: &TaskState| {
            let units: Vec<_> = std::iter::once(&t.unit)
                .chain(t.instances.iter().flatten())
                .map(|u| {
                    (
                        u.status,
                        u.attempts,
                        u.failures,
                        u.output.clone(),
                        u.retry_at,
                    )
                })
                .collect();
            (units, t.items.clone(), t.dropped)
        };
        for (i, (a, b)) in replayed.tasks.iter().zip(&live.tasks).enumerate() {
            assert_eq!(view(a), view(b), "task {i}");
        }
        assert_eq!(replayed.tasks, live.tasks);
        assert_eq!(replayed.documents, live.documents);
        assert_eq!(replayed.materials, live.materials);
        assert_eq!(replayed.form, live.form);
        assert_eq!(replayed.accepted_at, live.accepted_at);
        assert_eq!(replayed.closed_at, live.closed_at);
    }
}

fn drive(bundle: &BundleGen, steps: &[Step]) {
    let bp = bundle.blueprint();
    let mut d = Driver::new(bp);
    d.run(
        Actor::Window("w1".into()),
        Action::Submit(bundle.submission()),
    )
    .unwrap_or_else(|e| panic!("{}\n{e}", bundle.yaml()));
    for &s in steps {
        if d.closed {
            break;
        }
        d.step(s);
    }
    d.drain();
    // A closed case refuses everything, and stays as it is.
    let res = d.run(
        Actor::Applicant,
        Action::Withdraw {
            tasks: None,
            reason: "再撤回".into(),
        },
    );
    assert_eq!(res, Err(Rejection::CaseClosed));
    d.check_end();
}

proptest! {
    #![proptest_config(config())]

    /// Every invariant, on bundles where an all-or-nothing fan-out has at most one element.
    #[test]
    fn random_cases_keep_every_invariant(bundle in bundle_gen(1), steps in script()) {
        drive(&bundle, &steps);
    }

    /// The same with fan-outs of up to three elements in all-or-nothing bundles too.
    #[test]
    fn random_all_or_nothing_fan_outs_keep_every_invariant(bundle in bundle_gen(3), steps in script()) {
        drive(&bundle, &steps);
    }
}
