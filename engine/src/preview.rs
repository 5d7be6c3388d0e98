//! What an application would become, before it is submitted: the window's live intake form
//! (`POST /v1/bundles/{id}/preview`). The same validation, `when` conditions and clocks as a
//! submission — the real `Submit` is decided on a scratch case when the application is
//! complete; with a partial form, each item's `when` is evaluated on what is filled so far.

use jiff::Timestamp;
use serde::Serialize;
use yijian_definitions::MaterialOrigin;

use crate::case::{CaseState, UnitStatus};
use crate::command::{Action, Command, Submission};
use crate::eval;
use crate::ids::{Actor, TaskRef};
use crate::machine::{decide_in_place, time};
use crate::rejection::Problem;
use crate::validate;

/// An application as it would be taken now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    /// What still keeps it from being accepted (the messages a submission would get); empty:
    /// it would be accepted as it is.
    pub problems: Vec<Problem>,
    /// Why the bundle is not offered for this application (`offered_when` false), if so.
    pub not_offered: Option<String>,
    /// Every item (task) of the bundle and whether it applies.
    pub tasks: Vec<PreviewTask>,
    /// The merged materials checklist.
    pub materials: Vec<PreviewMaterial>,
    /// When the promised limit would end, counted from now on the bundle's calendar.
    pub due: Option<Timestamp>,
    /// When the statutory limit would end.
    pub statutory_due: Option<Timestamp>,
}

/// One item of a preview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviewTask {
    /// Task id.
    pub name: String,
    /// Title.
    pub title: String,
    /// Department.
    pub department: String,
    /// `true`: it applies; `false`: its `when` is false (情形 not met); `null`: not
    /// decidable yet (its `when` reads something not filled in, or an upstream result).
    pub applies: Option<bool>,
    /// Its `when` condition, as written.
    pub when: Option<String>,
}

/// One material of a preview's checklist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviewMaterial {
    /// Material id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Needed for this application (required, or its `required` condition holds).
    pub needed: bool,
    /// `applicant` (uploaded), `shared` (fetched by data sharing or e-licence), `task`
    /// (produced by an item of the bundle).
    pub source: &'static str,
    /// 容缺: how long it may follow after acceptance (`5wd`), when it may.
    pub deferrable: Option<String>,
    /// Attached to this application.
    pub supplied: bool,
}

/// Previews `s` on `state`, a fresh case of the bundle (on its calendar), at `now`.
pub fn preview(mut state: CaseState, s: &Submission, now: Timestamp) -> Preview {
    let bp = state.blueprint.clone();
    let (form, _, problems) = validate::application(&mut state, s);
    let not_offered = bp.offered_when.as_ref().and_then(|cond| {
        match eval::eval_bool(cond, &state, None) {
            Ok(true) => None,
            Ok(false) => Some(format!("`{}` is false for this application", cond.text())),
            // A partial form may not decide it yet.
            Err(_) => None,
        }
    });
    let materials = bp
        .materials
        .iter()
        .map(|(id, m)| PreviewMaterial {
            id: id.clone(),
            title: m.title.clone().unwrap_or_else(|| id.clone()),
            needed: m.required
                || m.required_when
                    .as_ref()
                    .is_some_and(|e| eval::eval_bool(e, &state, None).unwrap_or(false)),
            source: match m.source {
                MaterialOrigin::Applicant => "applicant",
                MaterialOrigin::Shared => "shared",
                _ => "task",
            },
            deferrable: m.deferrable.map(|d| d.to_string()),
            supplied: s.materials.contains_key(id),
        })
        .collect();
    let clock = time::case_clock(&state, now, now);
    // A complete application: decide the real submission on the scratch case.
    let decided = if problems.is_empty() && not_offered.is_none() {
        let mut scratch = state.clone();
        scratch.form = std::sync::Arc::new(form);
        let submit = Command::new(Actor::Engine, Action::Submit(s.clone()));
        decide_in_place(&mut scratch, &submit, now)
            .ok()
            .map(|_| scratch)
    } else {
        None
    };
    let tasks = bp
        .tasks
        .iter()
        .map(|t| {
            let applies = match &decided {
                Some(case) => case
                    .unit(TaskRef::task(t.idx))
                    .map(|u| u.status != UnitStatus::Skipped),
                None => match &t.when {
                    None => Some(true),
                    Some(cond) => eval::eval_bool(cond, &state, None).ok(),
                },
            };
            PreviewTask {
                name: t.id.clone(),
                title: t.title.clone(),
                department: t.department.to_string(),
                applies,
                when: t.when.as_ref().map(|c| c.text().to_owned()),
            }
        })
        .collect();
    Preview {
        problems,
        not_offered,
        tasks,
        materials,
        due: clock.due,
        statutory_due: clock.statutory_due,
    }
}
