//! Submission: the application is validated against the bundle (every problem at once) and
//! accepted (受理), with deferrable materials allowed to be missing (容缺).

use std::sync::Arc;

use super::{Decider, time};
use crate::command::Submission;
use crate::eval;
use crate::event::EventKind;
use crate::ids::Actor;
use crate::rejection::{Rejection, Result};
use crate::validate;

/// Validates an application on the scratch state; returns it with defaults applied and the
/// deferred materials.
fn validated(d: &mut Decider<'_>, s: &Submission) -> Result<(Submission, Vec<String>)> {
    let bp = d.state.blueprint.clone();
    let before = d.state.form.clone();
    let (form, deferred, problems) = validate::application(d.state, s);
    if !problems.is_empty() {
        d.state.form = before;
        return Err(Rejection::InvalidSubmission { problems });
    }
    if let Some(cond) = &bp.offered_when {
        let refused = match eval::eval_bool(cond, d.state, None) {
            Ok(true) => None,
            Ok(false) => Some(format!("`{}` is false for this application", cond.text())),
            Err(e) => Some(format!("`{}` could not be evaluated: {e}", cond.text())),
        };
        if let Some(reason) = refused {
            d.state.form = before;
            return Err(Rejection::NotOffered { reason });
        }
    }
    Ok((Submission { form, ..s.clone() }, deferred))
}

/// A window or portal submission: accepted (受理) at once.
pub(crate) fn submit(d: &mut Decider<'_>, actor: &Actor, s: &Submission) -> Result<()> {
    let (submission, deferred) = validated(d, s)?;
    d.emit(
        actor,
        None,
        EventKind::CaseSubmitted {
            submission: Arc::new(submission),
            deferred,
        },
    );
    accept(d, actor);
    Ok(())
}

/// A data event proposes the case (免申即享); acceptance waits for the person.
pub(crate) fn propose(
    d: &mut Decider<'_>,
    actor: &Actor,
    s: &Submission,
    source: &str,
    event_id: &str,
) -> Result<()> {
    if !d.state.blueprint.proposed_trigger {
        return Err(Rejection::NotProactive);
    }
    let (submission, _) = validated(d, s)?;
    d.emit(
        actor,
        None,
        EventKind::CaseProposed {
            submission: Arc::new(submission),
            source: source.to_owned(),
            event_id: event_id.to_owned(),
        },
    );
    Ok(())
}

/// The person confirms (意愿确认): the proposal counts as accepted.
pub(crate) fn confirm(d: &mut Decider<'_>, actor: &Actor) -> Result<()> {
    accept(d, actor);
    Ok(())
}

/// Acceptance (受理) starts the clocks: the day of acceptance is not counted.
fn accept(d: &mut Decider<'_>, actor: &Actor) {
    let now = d.now;
    let clock = time::case_clock(d.state, now, now);
    let cal = d.state.calendar.clone();
    let bp = d.state.blueprint.clone();
    let deferred_due = d
        .state
        .materials
        .iter()
        .filter(|(_, m)| m.deferred)
        .filter_map(|(id, _)| {
            let allowance = bp.materials.get(id)?.deferrable?;
            Some((
                id.clone(),
                time::deadline(cal.as_deref(), now, allowance, &[])?,
            ))
        })
        .collect();
    d.emit(
        actor,
        None,
        EventKind::CaseAccepted {
            due: clock.due,
            statutory_due: clock.statutory_due,
            warn_at: clock.warn_at,
            deferred_due,
        },
    );
}
