//! The simulation script: YAML read with serde-saphyr (unknown keys refused), then checked
//! into a list of timed steps. Every error names the line and column it is about.

use crate::engine::case::{Missing, SpecialStep};
use anyhow::bail;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

/// A script as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptFile {
    bundle: Spanned<String>,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    steps: Vec<Spanned<StepFile>>,
}

/// One step as written: `at` plus one action, or `until` alone.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    #[serde(default)]
    at: Option<Instant>,
    #[serde(default)]
    until: Option<Instant>,
    #[serde(default)]
    submit: Option<Submit>,
    #[serde(default)]
    trigger: Option<Trigger>,
    #[serde(default, deserialize_with = "present")]
    confirm: Option<Option<Empty>>,
    #[serde(default)]
    approve: Option<Approve>,
    #[serde(default)]
    request_supplement: Option<RequestSupplement>,
    #[serde(default)]
    supply: Option<Supply>,
    #[serde(default)]
    refuse: Option<TaskReason>,
    #[serde(default)]
    suspend: Option<Suspend>,
    #[serde(default)]
    resume: Option<TaskOnly>,
    #[serde(default)]
    withdraw: Option<Withdraw>,
    #[serde(default)]
    verify: Option<Verify>,
    #[serde(default)]
    evaluate: Option<Evaluate>,
    #[serde(default)]
    fail: Option<Fail>,
    #[serde(default)]
    cancel: Option<TaskReason>,
    #[serde(default)]
    retry: Option<TaskOnly>,
    #[serde(default)]
    send_back: Option<SendBack>,
    #[serde(default)]
    add_item: Option<AddItem>,
    #[serde(default)]
    remove_item: Option<TaskReason>,
    #[serde(default)]
    reassign: Option<Reassign>,
    #[serde(default)]
    migrate: Option<Migrate>,
}

/// `confirm: {}` (or `confirm:` with nothing).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Empty {}

/// Tells a key written with an empty value (`confirm:`) from an absent key.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An application at the window (一表申请 + 一套材料).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Submit {
    #[serde(default)]
    pub(crate) form: Map<String, Value>,
    #[serde(default)]
    pub(crate) materials: Option<Value>,
    /// Materials not supplied at intake (容缺 for deferrable ones).
    #[serde(default)]
    pub(crate) missing: Vec<String>,
    #[serde(default)]
    pub(crate) commitments: Vec<String>,
    #[serde(default)]
    pub(crate) unavailable: Vec<String>,
    #[serde(default)]
    pub(crate) region: String,
}

/// A data event proposing a case (免申即享).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Trigger {
    #[serde(default)]
    pub(crate) form: Map<String, Value>,
    #[serde(default)]
    pub(crate) materials: Option<Value>,
    #[serde(default)]
    pub(crate) missing: Vec<String>,
    #[serde(default)]
    pub(crate) unavailable: Vec<String>,
    #[serde(default)]
    pub(crate) region: String,
    pub(crate) source: String,
    pub(crate) event_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Approve {
    pub(crate) task: String,
    #[serde(default)]
    pub(crate) output: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestSupplement {
    pub(crate) task: String,
    pub(crate) missing: Vec<Missing>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Supply {
    #[serde(default)]
    pub(crate) form: Map<String, Value>,
    #[serde(default)]
    pub(crate) materials: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskReason {
    pub(crate) task: String,
    pub(crate) reason: String,
}

/// 退回: `by`'s department returns `task`'s result.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendBack {
    pub(crate) task: String,
    pub(crate) by: String,
    pub(crate) reason: String,
}

/// 加办: the applicant adds an optional item.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddItem {
    pub(crate) task: String,
    #[serde(default)]
    pub(crate) form: Map<String, Value>,
    #[serde(default)]
    pub(crate) materials: Option<Value>,
}

/// 改派: an operator moves a unit to another region.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Reassign {
    pub(crate) task: String,
    pub(crate) region: String,
    pub(crate) reason: String,
}

/// Migration of the case to another version of its bundle, read from a file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Migrate {
    /// The new version's bundle file, relative to the script.
    pub(crate) bundle: String,
    #[serde(default)]
    pub(crate) mapping: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskOnly {
    pub(crate) task: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Suspend {
    pub(crate) task: String,
    pub(crate) reason: SpecialStep,
    #[serde(default)]
    pub(crate) note: String,
    #[serde(default)]
    pub(crate) expected: Option<Instant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Withdraw {
    #[serde(default)]
    pub(crate) tasks: Option<Vec<String>>,
    pub(crate) reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Verify {
    pub(crate) task: String,
    pub(crate) passed: bool,
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Evaluate {
    pub(crate) grade: u8,
    #[serde(default)]
    pub(crate) department: Option<String>,
    #[serde(default)]
    pub(crate) comment: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fail {
    pub(crate) task: String,
    pub(crate) error: String,
    /// Retry after this long instead of the task's backoff (`30s`, `10m`, `1h`).
    #[serde(default)]
    pub(crate) retry_in: Option<crate::definitions::Duration>,
}

/// An instant: RFC 3339 with an offset, or a local Beijing time without one
/// (`2026-09-18T09:00`, `2026-09-18 09:00:00`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Instant(pub(crate) Timestamp);

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_instant(&s)
            .map(Instant)
            .map_err(serde::de::Error::custom)
    }
}

/// Parses an instant; a time without an offset is Beijing time (+08:00).
pub(crate) fn parse_instant(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let local = s
        .replacen(' ', "T", 1)
        .parse::<jiff::civil::DateTime>()
        .map_err(|_| {
            format!(
                "`{s}` is not an instant: write it as 2026-09-18T09:00:00+08:00 \
                 (or without the offset, as Beijing time)"
            )
        })?;
    local
        .to_zoned_datetime(beijing())
        .map(|z| z.timestamp())
        .map_err(|e| format!("`{s}`: {e}"))
}

/// UTC+08:00, the time of the shipped calendars (Asia/Shanghai has no daylight saving).
pub(crate) fn beijing() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::fixed(jiff::tz::offset(8))
}

/// A checked script.
#[derive(Debug)]
pub(crate) struct Script {
    /// The bundle: an id, or a path relative to the script.
    pub(crate) bundle: String,
    /// Where `bundle:` is written (line, column).
    pub(crate) bundle_at: (u64, u64),
    /// The version (default: the latest deployed).
    pub(crate) version: Option<u32>,
    /// What the scenario shows.
    pub(crate) title: Option<String>,
    /// The steps, in time order.
    pub(crate) steps: Vec<Step>,
}

/// A step at its instant, with where it was written.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) at: Timestamp,
    pub(crate) line: u64,
    pub(crate) action: StepAction,
}

/// What a step does.
#[derive(Debug)]
pub(crate) enum StepAction {
    Until,
    Submit(Submit),
    Trigger(Trigger),
    Confirm,
    Approve(Approve),
    RequestSupplement(RequestSupplement),
    Supply(Supply),
    Refuse(TaskReason),
    Suspend(Suspend),
    Resume(TaskOnly),
    Withdraw(Withdraw),
    Verify(Verify),
    Evaluate(Evaluate),
    Fail(Fail),
    Cancel(TaskReason),
    Retry(TaskOnly),
    SendBack(SendBack),
    AddItem(AddItem),
    RemoveItem(TaskReason),
    Reassign(Reassign),
    Migrate(Migrate),
}

impl StepAction {
    /// The step kind, as written in scripts.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            StepAction::Until => "until",
            StepAction::Submit(_) => "submit",
            StepAction::Trigger(_) => "trigger",
            StepAction::Confirm => "confirm",
            StepAction::Approve(_) => "approve",
            StepAction::RequestSupplement(_) => "request_supplement",
            StepAction::Supply(_) => "supply",
            StepAction::Refuse(_) => "refuse",
            StepAction::Suspend(_) => "suspend",
            StepAction::Resume(_) => "resume",
            StepAction::Withdraw(_) => "withdraw",
            StepAction::Verify(_) => "verify",
            StepAction::Evaluate(_) => "evaluate",
            StepAction::Fail(_) => "fail",
            StepAction::Cancel(_) => "cancel",
            StepAction::Retry(_) => "retry",
            StepAction::SendBack(_) => "send_back",
            StepAction::AddItem(_) => "add_item",
            StepAction::RemoveItem(_) => "remove_item",
            StepAction::Reassign(_) => "reassign",
            StepAction::Migrate(_) => "migrate",
        }
    }

    /// The task the step names, if any.
    pub(crate) fn task(&self) -> Option<&str> {
        match self {
            StepAction::Approve(a) => Some(&a.task),
            StepAction::RequestSupplement(r) => Some(&r.task),
            StepAction::Refuse(t) | StepAction::Cancel(t) => Some(&t.task),
            StepAction::Suspend(s) => Some(&s.task),
            StepAction::Resume(t) | StepAction::Retry(t) => Some(&t.task),
            StepAction::Verify(v) => Some(&v.task),
            StepAction::Fail(f) => Some(&f.task),
            StepAction::SendBack(b) => Some(&b.task),
            StepAction::AddItem(a) => Some(&a.task),
            StepAction::RemoveItem(t) => Some(&t.task),
            StepAction::Reassign(r) => Some(&r.task),
            _ => None,
        }
    }
}

/// The step kinds, for messages.
const KINDS: &str = "submit, trigger, confirm, approve, request_supplement, supply, refuse, \
                     suspend, resume, withdraw, verify, evaluate, fail, cancel, retry, \
                     send_back, add_item, remove_item, reassign, migrate";

/// Reads and checks a script. `origin` names it in errors.
///
/// # Errors
/// YAML syntax, an unknown or missing key, a bad value (with line and column), a step with
/// no action or two, a step earlier than the one before it.
pub(crate) fn parse(text: &str, origin: &str) -> anyhow::Result<Script> {
    let file: ScriptFile = serde_saphyr::from_str(text).map_err(|e| {
        let report = e.to_string().replace("<input>", origin);
        let report = report.strip_prefix("error: ").unwrap_or(&report).to_owned();
        anyhow::anyhow!("{origin}: not a valid script: {report}")
    })?;
    if file.steps.is_empty() {
        bail!("{origin}: `steps` is empty: a script needs at least one step");
    }
    let mut steps = Vec::with_capacity(file.steps.len());
    let mut last: Option<Timestamp> = None;
    for spanned in file.steps {
        let (line, column) = (spanned.referenced.line(), spanned.referenced.column());
        let step =
            step(spanned.value).map_err(|m| anyhow::anyhow!("{origin}:{line}:{column}: {m}"))?;
        let (at, action) = step;
        if let Some(prev) = last
            && at < prev
        {
            bail!(
                "{origin}:{line}:{column}: this step ({}) is earlier than the step before it \
                 ({}): steps must be in time order",
                super::output::instant(at),
                super::output::instant(prev)
            );
        }
        last = Some(at);
        steps.push(Step { at, line, action });
    }
    let bundle = file.bundle.value.trim().to_owned();
    let (l, c) = (
        file.bundle.referenced.line(),
        file.bundle.referenced.column(),
    );
    if bundle.is_empty() {
        bail!("{origin}:{l}:{c}: `bundle` is empty: name a bundle id or a YAML file");
    }
    Ok(Script {
        bundle,
        bundle_at: (l, c),
        version: file.version,
        title: file.title.or(file.description),
        steps,
    })
}

/// One step: its instant and its single action.
fn step(s: StepFile) -> Result<(Timestamp, StepAction), String> {
    let mut actions: Vec<StepAction> = Vec::new();
    let mut push = |a: Option<StepAction>| actions.extend(a);
    push(s.submit.map(StepAction::Submit));
    push(s.trigger.map(StepAction::Trigger));
    push(s.confirm.map(|_| StepAction::Confirm));
    push(s.approve.map(StepAction::Approve));
    push(s.request_supplement.map(StepAction::RequestSupplement));
    push(s.supply.map(StepAction::Supply));
    push(s.refuse.map(StepAction::Refuse));
    push(s.suspend.map(StepAction::Suspend));
    push(s.resume.map(StepAction::Resume));
    push(s.withdraw.map(StepAction::Withdraw));
    push(s.verify.map(StepAction::Verify));
    push(s.evaluate.map(StepAction::Evaluate));
    push(s.fail.map(StepAction::Fail));
    push(s.cancel.map(StepAction::Cancel));
    push(s.retry.map(StepAction::Retry));
    push(s.send_back.map(StepAction::SendBack));
    push(s.add_item.map(StepAction::AddItem));
    push(s.remove_item.map(StepAction::RemoveItem));
    push(s.reassign.map(StepAction::Reassign));
    push(s.migrate.map(StepAction::Migrate));
    match (s.at, s.until, actions.len()) {
        (None, Some(until), 0) => Ok((until.0, StepAction::Until)),
        (Some(_), Some(_), _) => Err("a step has `at` or `until`, not both".to_owned()),
        (None, Some(_), _) => Err("`until` stands alone: it only advances the clock".to_owned()),
        (None, None, _) => Err("a step needs `at: <instant>` (or `until: <instant>`)".to_owned()),
        (Some(_), None, 0) => Err(format!("a step needs one action: {KINDS}")),
        (Some(at), None, 1) => Ok((at.0, actions.remove(0))),
        (Some(_), None, _) => {
            let kinds: Vec<&str> = actions.iter().map(StepAction::kind).collect();
            Err(format!(
                "a step has one action; this one has {}: split it into steps at the same time",
                kinds.join(", ")
            ))
        }
    }
}
