//! Drives the real engine (in-memory store, manual clock) through a script's steps.
//!
//! Before each step, every timer due up to the step's instant fires at its own instant
//! (warnings, retries, deadlines); then the clock moves to the step and the step runs. A
//! step the engine refuses is recorded with its reason and the run goes on.

use std::sync::Arc;

use crate::definitions::Blueprint;
use crate::engine::calendar::Calendars;
use crate::engine::ids::Part;
use crate::engine::{
    Action, Actor, CaseNo, CaseView, Command, Engine, EngineError, Event, EventKind, ManualClock,
    MemoryStore, Submission, SubmitRequest, TaskRef,
};
use jiff::Timestamp;
use serde_json::Value;

use super::fill;
use super::script::{Step, StepAction};

pub(crate) use super::BundleText;

/// What happened, in order.
#[derive(Debug)]
pub(crate) enum Entry {
    /// An event of the case.
    Event(Event),
    /// A step that changed nothing (a data event delivered again: 免申即享 is idempotent).
    Unchanged {
        at: Timestamp,
        step: &'static str,
        line: u64,
        reason: String,
    },
    /// A step the engine (or the simulation) refused.
    Rejected {
        at: Timestamp,
        step: &'static str,
        task: Option<String>,
        line: u64,
        reason: String,
        code: Option<String>,
    },
}

/// The result of a run.
#[derive(Debug)]
pub(crate) struct Run {
    /// The version the case ends on.
    pub(crate) blueprint: Arc<Blueprint>,
    /// The version it was submitted on (the timeline names tasks in each event's own).
    pub(crate) first: Arc<Blueprint>,
    pub(crate) case: Option<CaseView>,
    pub(crate) timeline: Vec<Entry>,
    /// Bundle files that did not deploy (they were not needed).
    pub(crate) skipped: Vec<String>,
}

/// A refusal of a step: its reason and, for engine rejections, a stable code.
struct Refused {
    reason: String,
    code: Option<String>,
}

impl From<EngineError> for Refused {
    fn from(e: EngineError) -> Self {
        let code = match &e {
            EngineError::Rejected(r) => serde_json::to_value(r)
                .ok()
                .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned)),
            EngineError::UnknownTask { .. } => Some("unknown_task".to_owned()),
            EngineError::UnknownCase { .. } => Some("no_case".to_owned()),
            _ => None,
        };
        Refused {
            reason: e.to_string(),
            code,
        }
    }
}

impl From<String> for Refused {
    fn from(reason: String) -> Self {
        Refused { reason, code: None }
    }
}

/// Runs the script against the bundle `target` (an id and optionally a version) deployed
/// from `bundles` on `calendars`; without a target, against the first bundle. `place`
/// (`script:line:col` of its `bundle:` key) prefixes the errors about the bundle.
///
/// # Errors
/// The bundle is not among those that deployed, or the engine's store fails.
pub(crate) async fn run(
    bundles: &[BundleText],
    later: &[(String, BundleText)],
    target: Option<(&str, Option<u32>)>,
    calendars: Calendars,
    place: &str,
    steps: &[Step],
) -> anyhow::Result<Run> {
    let start = steps.first().map_or_else(Timestamp::now, |s| s.at);
    let clock = ManualClock::new(start);
    let engine = Engine::builder(MemoryStore::new())
        .clock(Arc::new(clock.clone()))
        .calendars(calendars)
        .keep_closed_cases(true)
        .build()
        .await?;
    let mut skipped = Vec::new();
    let mut first = None;
    for b in bundles {
        match engine.deploy(&b.yaml).await {
            Ok(d) => {
                first.get_or_insert((d.id, d.version));
            }
            Err(e) => skipped.push(format!("{}: {e}", b.origin)),
        }
    }
    let (id, version) = match target {
        Some((id, version)) => (id.to_owned(), version),
        None => match first {
            Some((id, version)) => (id, Some(version)),
            None => anyhow::bail!("{place}: the bundle did not deploy: {}", skipped.join("; ")),
        },
    };
    let id = id.as_str();
    let Some(blueprint) = engine.blueprint(id, version) else {
        let mut known: Vec<String> = engine
            .blueprints()
            .iter()
            .map(|b| format!("{}@{}", b.id, b.version))
            .collect();
        known.dedup();
        let version = version.map(|v| format!(" version {v}")).unwrap_or_default();
        let mut msg = format!("{place}: no bundle `{id}`{version} among the bundles deployed");
        if !known.is_empty() {
            msg.push_str(&format!(" (deployed: {})", known.join(", ")));
        }
        for s in &skipped {
            msg.push_str(&format!("\n  did not deploy: {s}"));
        }
        anyhow::bail!(msg);
    };
    // The versions `migrate` steps move the case to, deployed once its own is chosen.
    let mut versions = std::collections::BTreeMap::new();
    for (name, b) in later {
        match engine.deploy(&b.yaml).await {
            Ok(d) if d.id == blueprint.id.as_ref() => {
                versions.insert(name.clone(), Ok(d.version));
            }
            Ok(d) => {
                let msg = format!("{name} is bundle `{}`, not `{}`", d.id, blueprint.id);
                versions.insert(name.clone(), Err(msg));
            }
            Err(e) => {
                versions.insert(name.clone(), Err(format!("{name} does not deploy: {e}")));
            }
        }
    }
    let mut sim = Sim {
        engine,
        blueprint: blueprint.clone(),
        case_no: None,
        seen: 0,
        timeline: Vec::new(),
        versions,
    };
    for step in steps {
        sim.engine.fire_timers(step.at).await;
        clock.set(step.at);
        sim.collect().await;
        if let Err(refused) = sim.step(step).await {
            sim.timeline.push(Entry::Rejected {
                at: step.at,
                step: step.action.kind(),
                task: step.action.task().map(str::to_owned),
                line: step.line,
                reason: refused.reason,
                code: refused.code,
            });
        }
        sim.collect().await;
    }
    let case = match &sim.case_no {
        Some(no) => Some(sim.engine.case(no).await?),
        None => None,
    };
    // A migrated case ends on another version: its tasks are that version's.
    let blueprint = case
        .as_ref()
        .and_then(|c| sim.engine.blueprint(&c.bundle, Some(c.version)))
        .unwrap_or(blueprint);
    Ok(Run {
        first: sim.blueprint.clone(),
        blueprint,
        case,
        timeline: sim.timeline,
        skipped,
    })
}

struct Sim {
    engine: Engine<MemoryStore>,
    blueprint: Arc<Blueprint>,
    case_no: Option<CaseNo>,
    seen: usize,
    timeline: Vec<Entry>,
    /// `migrate` steps' bundle files → the version each deployed as (or why not).
    versions: std::collections::BTreeMap<String, Result<u32, String>>,
}

impl Sim {
    /// Appends the case's events not yet in the timeline.
    async fn collect(&mut self) {
        let Some(no) = &self.case_no else { return };
        if let Ok(events) = self.engine.events(no).await {
            let new: Vec<Event> = events.into_iter().skip(self.seen).collect();
            self.seen += new.len();
            self.timeline.extend(new.into_iter().map(Entry::Event));
        }
    }

    fn case(&self) -> Result<&CaseNo, Refused> {
        self.case_no.as_ref().ok_or_else(|| {
            Refused::from(
                "there is no case yet: a `submit` or `trigger` step comes first".to_owned(),
            )
        })
    }

    async fn step(&mut self, step: &Step) -> Result<(), Refused> {
        let e = &self.engine;
        match &step.action {
            StepAction::Until => Ok(()),
            StepAction::Submit(s) => {
                self.no_case_yet()?;
                let submission = fill::submission(
                    &self.blueprint,
                    &s.form,
                    s.materials.as_ref(),
                    &s.missing,
                    &s.unavailable,
                    &s.region,
                )?;
                let submission = Submission {
                    commitments: s.commitments.clone(),
                    ..submission
                };
                let req = SubmitRequest {
                    bundle: self.blueprint.id.to_string(),
                    version: Some(self.blueprint.version),
                    submission,
                    idempotency_key: None,
                    actor: Some(Actor::Window(Arc::from("window"))),
                };
                let view = e.submit(req).await?;
                self.case_no = Some(view.case_no);
                Ok(())
            }
            StepAction::Trigger(t) => {
                let submission = fill::submission(
                    &self.blueprint,
                    &t.form,
                    t.materials.as_ref(),
                    &t.missing,
                    &t.unavailable,
                    &t.region,
                )?;
                let view = e
                    .propose(&self.blueprint.id, submission, &t.source, &t.event_id)
                    .await?;
                match &self.case_no {
                    None => {
                        self.case_no = Some(view.case_no);
                        Ok(())
                    }
                    Some(no) if *no == view.case_no => {
                        self.timeline.push(Entry::Unchanged {
                            at: step.at,
                            step: "trigger",
                            line: step.line,
                            reason: format!(
                                "the data event {}/{} was delivered again: the engine answered \
                                 with case {no} it proposed before, and nothing changed",
                                t.source, t.event_id
                            ),
                        });
                        Ok(())
                    }
                    Some(no) => Err(Refused {
                        reason: format!(
                            "this data event proposed another case ({}); a script follows one \
                             case ({no})",
                            view.case_no
                        ),
                        code: Some("another_case".to_owned()),
                    }),
                }
            }
            StepAction::Confirm => self.exec(Actor::Applicant, Action::Confirm).await,
            StepAction::Approve(a) => {
                let output = fill::with_licences(&self.blueprint, &a.task, a.output.clone());
                self.decide(&a.task, |task| Action::Approve { task, output })
                    .await
            }
            StepAction::RequestSupplement(r) => {
                let missing = r.missing.clone();
                self.decide(&r.task, |task| Action::RequestSupplement { task, missing })
                    .await
            }
            StepAction::Supply(s) => {
                let materials = fill::materials_given(s.materials.as_ref())?;
                let action = Action::Supply {
                    via: None,
                    form: s.form.clone(),
                    materials,
                };
                self.exec(Actor::Applicant, action).await
            }
            StepAction::Refuse(r) => {
                let reason = r.reason.clone();
                self.decide(&r.task, |task| Action::Refuse { task, reason })
                    .await
            }
            StepAction::Suspend(s) => {
                let (step, note, expected) = (s.reason, s.note.clone(), s.expected.map(|x| x.0));
                self.decide(&s.task, |task| Action::Suspend {
                    task,
                    step,
                    note,
                    expected,
                })
                .await
            }
            StepAction::Resume(r) => self.decide(&r.task, |task| Action::Resume { task }).await,
            StepAction::Withdraw(w) => {
                let no = self.case()?.clone();
                let names: Option<Vec<&str>> = w
                    .tasks
                    .as_ref()
                    .map(|t| t.iter().map(String::as_str).collect());
                e.withdraw(&no, names.as_deref(), &w.reason).await?;
                Ok(())
            }
            StepAction::Verify(v) => {
                let base = v.task.trim().trim_end_matches(".verify");
                let name = format!("{base}.verify");
                if v.passed {
                    self.decide(&name, |task| Action::Approve {
                        task,
                        output: Value::Null,
                    })
                    .await
                } else {
                    let reason = v
                        .reason
                        .clone()
                        .unwrap_or_else(|| "告知承诺核查不通过".to_owned());
                    self.decide(&name, |task| Action::Refuse { task, reason })
                        .await
                }
            }
            StepAction::Evaluate(v) => {
                let action = Action::Evaluate {
                    grade: v.grade,
                    department: v.department.clone(),
                    comment: v.comment.clone(),
                };
                self.exec(Actor::Applicant, action).await
            }
            StepAction::Fail(f) => {
                let (error, retry_in) = (f.error.clone(), f.retry_in.and_then(|d| d.as_std()));
                self.decide(&f.task, |task| Action::Fail {
                    task,
                    error,
                    retry_in,
                    retries: None,
                })
                .await
            }
            StepAction::Cancel(c) => {
                let task = self.task(&c.task).await?;
                let action = Action::Cancel {
                    task,
                    reason: c.reason.clone(),
                };
                self.exec(operator(), action).await
            }
            StepAction::Retry(r) => {
                let task = self.task(&r.task).await?;
                self.exec(operator(), Action::Dispatch { task }).await
            }
            StepAction::SendBack(b) => {
                let task = self.task(&b.task).await?;
                let reason = b.reason.clone();
                self.decide(&b.by, |by| Action::SendBack { task, by, reason })
                    .await
            }
            StepAction::AddItem(a) => {
                let task = self.task(&a.task).await?;
                let action = Action::AddItem {
                    task,
                    form: a.form.clone(),
                    materials: fill::materials_given(a.materials.as_ref())?,
                    via: None,
                };
                self.exec(Actor::Applicant, action).await
            }
            StepAction::RemoveItem(r) => {
                let task = self.task(&r.task).await?;
                let reason = r.reason.clone();
                self.exec(Actor::Applicant, Action::RemoveItem { task, reason })
                    .await
            }
            StepAction::Reassign(r) => {
                let task = self.task(&r.task).await?;
                let action = Action::Reassign {
                    task,
                    region: r.region.clone(),
                    reason: r.reason.clone(),
                };
                self.exec(operator(), action).await
            }
            StepAction::Migrate(m) => {
                let no = self.case()?.clone();
                let version = match self.versions.get(&m.bundle) {
                    Some(Ok(v)) => *v,
                    Some(Err(why)) => return Err(Refused::from(why.clone())),
                    None => {
                        return Err(Refused {
                            reason: format!("the bundle file `{}` is not available here", m.bundle),
                            code: Some("unknown_bundle".to_owned()),
                        });
                    }
                };
                let reason = m
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("迁移至第 {version} 版"));
                let plan = self
                    .engine
                    .migrate(&no, version, &m.mapping, operator(), &reason, false)
                    .await?;
                if plan.migratable {
                    Ok(())
                } else {
                    Err(Refused {
                        reason: plan.reasons.join("; "),
                        code: Some("not_migratable".to_owned()),
                    })
                }
            }
        }
    }

    fn no_case_yet(&self) -> Result<(), Refused> {
        match &self.case_no {
            None => Ok(()),
            Some(no) => Err(Refused {
                reason: format!("case {no} is already submitted: a script runs one case"),
                code: Some("already_submitted".to_owned()),
            }),
        }
    }

    async fn task(&self, name: &str) -> Result<TaskRef, Refused> {
        let no = self.case()?;
        Ok(self.engine.task_ref(no, name).await?)
    }

    async fn exec(&self, actor: Actor, action: Action) -> Result<(), Refused> {
        let no = self.case()?;
        self.engine.execute(no, Command::new(actor, action)).await?;
        Ok(())
    }

    /// A department's command on one of its tasks: the acting department is the task's.
    async fn decide(
        &self,
        name: &str,
        action: impl FnOnce(TaskRef) -> Action,
    ) -> Result<(), Refused> {
        let task = self.task(name).await?;
        let department = self.department(name, task).await;
        self.exec(Actor::Department(department), action(task)).await
    }

    /// The department of a unit: from the case (rectifications go to the department at
    /// fault), else from the bundle.
    async fn department(&self, name: &str, task: TaskRef) -> Arc<str> {
        if task.part == Part::Rectification {
            // The case view names a rectification's department after the bundle's task of
            // the same index; the evaluation that opened it names the right one.
            let events = match &self.case_no {
                Some(no) => self.engine.events(no).await.unwrap_or_default(),
                None => Vec::new(),
            };
            return rectifications(&events)
                .get(task.task.index())
                .cloned()
                .unwrap_or_else(|| Arc::from(""));
        }
        if let Some(no) = &self.case_no
            && let Ok(view) = self.engine.case(no).await
            && let Some(t) = view.task(name)
        {
            return Arc::from(t.department.as_str());
        }
        match task.part {
            Part::Rectification => Arc::from(""),
            _ => self
                .blueprint
                .tasks
                .get(task.task.index())
                .map_or_else(|| Arc::from(""), |t| t.department.clone()),
        }
    }
}

/// The departments of the case's rectifications (好差评整改), in order.
pub(crate) fn rectifications<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<Arc<str>> {
    events
        .into_iter()
        .filter_map(|e| match &e.kind {
            EventKind::Evaluated {
                rectification: Some(d),
                ..
            } => Some(d.clone()),
            _ => None,
        })
        .collect()
}

fn operator() -> Actor {
    Actor::Operator(Arc::from("operator"))
}
