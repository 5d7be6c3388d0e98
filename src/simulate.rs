//! `simulate`: a dry run of one case on a scripted clock, with the real engine (in-memory
//! store, manual clock). The contract is `docs/simulate.md`; `yijian simulate` reads the
//! script and bundle files, the console's designer sends texts.

mod drive;
mod fill;
mod output;
mod script;

use crate::engine::UnitStatus;
use crate::engine::calendar::Calendars;
use crate::engine::ids::Part;

/// A bundle's text and where it came from (a file name, or `designer`).
#[derive(Debug, Clone)]
pub struct BundleText {
    /// Where the text came from, for messages.
    pub origin: String,
    /// The YAML text.
    pub yaml: String,
}

/// A parsed script.
#[derive(Debug)]
pub struct Script(script::Script);

impl Script {
    /// Parses a script's text; `origin` names it in errors.
    ///
    /// # Errors
    /// Invalid YAML, an unknown step or key, steps out of time order — with line and column.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Script> {
        script::parse(text, origin).map(Script)
    }

    /// Its `bundle:`: an id, or a file path relative to the script.
    pub fn bundle(&self) -> &str {
        &self.0.bundle
    }

    /// Where `bundle:` is written (line, column).
    pub fn bundle_at(&self) -> (u64, u64) {
        self.0.bundle_at
    }

    /// How many steps it has.
    pub fn steps(&self) -> usize {
        self.0.steps.len()
    }

    /// The bundle files its `migrate` steps name (relative to the script).
    pub fn migration_bundles(&self) -> Vec<&str> {
        self.0
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                script::StepAction::Migrate(m) => Some(m.bundle.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Its `version:`, if any.
    pub fn version(&self) -> Option<u32> {
        self.0.version
    }
}

/// What a run gives: the JSON document and the readable table of `docs/simulate.md`.
#[derive(Debug, Clone)]
pub struct Report {
    /// The `--format json` document.
    pub json: serde_json::Value,
    /// The readable table.
    pub table: String,
}

/// Runs `script` against the bundle `target` (an id and optionally a version) deployed from
/// `bundles` on `calendars`; without a target, against the first bundle. `place` prefixes
/// the errors about the bundle (`script:line:col` of its `bundle:`).
///
/// # Errors
/// The bundle is not among those that deployed, a step does not fit the case, or the
/// engine's store fails.
pub async fn run(
    script: &Script,
    bundles: &[BundleText],
    target: Option<(&str, Option<u32>)>,
    calendars: Calendars,
    place: &str,
) -> anyhow::Result<Report> {
    run_with(script, bundles, &[], target, calendars, place).await
}

/// [`run`], with the bundle files its `migrate` steps name: `(name as written, text)`,
/// deployed once the case's own bundle is chosen.
///
/// # Errors
/// As [`run`].
pub async fn run_with(
    script: &Script,
    bundles: &[BundleText],
    later: &[(String, BundleText)],
    target: Option<(&str, Option<u32>)>,
    calendars: Calendars,
    place: &str,
) -> anyhow::Result<Report> {
    let run = drive::run(bundles, later, target, calendars, place, &script.0.steps).await?;
    let notes = notes(&run);
    let json = output::json(&run, &notes);
    let table = output::table(&run, &json, script.0.title.as_deref());
    Ok(Report { json, table })
}

/// Things the reader should know that are not events: limits the calendar could not count.
fn notes(run: &drive::Run) -> Vec<String> {
    let mut notes = Vec::new();
    for s in &run.skipped {
        notes.push(format!(
            "a bundle file did not deploy (not needed here): {s}"
        ));
    }
    let bp = &run.blueprint;
    let Some(case) = &run.case else {
        return notes;
    };
    let beyond = |what: &str| {
        format!(
            "{what} has no due date: its limit runs past the years calendar `{}` knows \
             (`yijian calendar add` shows which); add the next year's calendar file",
            bp.calendar
        )
    };
    if case.accepted_at.is_some() && case.due.is_none() && bp.time_limit.is_some() {
        notes.push(beyond("the case"));
    }
    for t in &case.tasks {
        let limited = crate::engine::TaskRef::parse(bp, &t.name).is_some_and(|r| {
            r.part != Part::Rectification
                && r.task.index() < bp.tasks.len()
                && bp.task_limit(r.task).is_some()
        });
        if t.due.is_none() && t.status == UnitStatus::Dispatched && limited {
            notes.push(beyond(&format!("task `{}`", t.name)));
        }
    }
    notes
}
