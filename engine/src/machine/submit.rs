//! Submission: the application is validated against the bundle (every problem at once) and
//! accepted (受理), with deferrable materials allowed to be missing (容缺).

use std::sync::Arc;

use super::Decider;
use crate::command::Submission;
use crate::eval;
use crate::event::EventKind;
use crate::ids::Actor;
use crate::rejection::{Rejection, Result};
use crate::validate;

pub(crate) fn submit(d: &mut Decider<'_>, actor: &Actor, s: &Submission) -> Result<()> {
    let bp = d.state.blueprint.clone();
    // Validate on the scratch state so `required: <expr>` sees the form with defaults.
    let (form, mut problems) = validate::form(&bp, &s.form);
    let before = std::mem::replace(&mut d.state.form, Arc::new(form.clone()));
    let (deferred, more) = validate::materials(d.state, s);
    problems.extend(more);
    problems.extend(validate::commitments(&bp, &s.commitments));
    // A wrong value also makes `required: <expr>` rules that read it undecidable; report the
    // wrong value, not its echoes.
    if problems
        .iter()
        .any(|p| !p.message.starts_with(validate::UNDECIDED))
    {
        problems.retain(|p| !p.message.starts_with(validate::UNDECIDED));
    }
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
    let submission = Submission { form, ..s.clone() };
    d.emit(
        actor,
        None,
        EventKind::CaseSubmitted {
            submission: Arc::new(submission),
            deferred,
        },
    );
    Ok(())
}
