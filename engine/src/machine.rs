//! The pure case machine: `decide(state, command, now) -> events` and `apply(state, event)`.
//!
//! No I/O, no clock reads, no randomness: the same state, command and instant always give
//! the same events, which is what makes replay, recovery and simulation exact.
//!
//! `decide` works on a scratch copy of the state and applies each event to it as soon as it
//! is produced, so the cascade it computes (a task approved → its dependants ready → a
//! `when` false → skipped → … → the case closes) sees exactly what `apply` will produce.
//! [`decide_in_place`] does the same on the caller's state, for a runtime that would apply
//! the events next anyway: every check happens before the first event, so a rejection
//! leaves the state as it was.

mod apply;
mod change;
mod migrate;
mod procedure;
mod schedule;
mod submit;
mod task;
pub(crate) mod time;

pub use time::next_timer;

use std::sync::Arc;

use jiff::Timestamp;

use crate::case::{CaseState, Phase};
use crate::command::{Action, Command};
use crate::event::{Event, EventKind};
use crate::ids::Actor;
use crate::rejection::{Rejection, Result};

pub use apply::apply;
pub use migrate::mapping_problems;
pub(crate) use task::NO_LEASE;

/// Decides what a command means for a case: the events to append, or why not.
///
/// # Errors
/// A [`Rejection`] when the command does not fit the case; nothing changes then.
pub fn decide(state: &CaseState, command: &Command, now: Timestamp) -> Result<Vec<Event>> {
    let mut scratch = state.clone();
    decide_in_place(&mut scratch, command, now)
}

/// Decides and applies at once: on `Ok`, `state` has the returned events applied; on a
/// rejection it is unchanged.
///
/// # Errors
/// A [`Rejection`] when the command does not fit the case.
pub fn decide_in_place(
    state: &mut CaseState,
    command: &Command,
    now: Timestamp,
) -> Result<Vec<Event>> {
    let phase = state.phase;
    if let Some(v) = command.version
        && phase != Phase::New
        && state.blueprint.version != v
    {
        return Err(Rejection::VersionChanged {
            expected: v,
            found: state.blueprint.version,
        });
    }
    // A timer that fires late, or a command stamped before the case's latest event, is
    // recorded at the case's latest time: a case's timeline never goes back.
    let now = state.last_event_at.map_or(now, |t| t.max(now));
    let mut d = Decider {
        state,
        events: Vec::new(),
        now,
    };
    let actor = &command.actor;
    match (&command.action, phase) {
        (Action::Submit(s), Phase::New) => submit::submit(&mut d, actor, s)?,
        (
            Action::Propose {
                submission,
                source,
                event_id,
            },
            Phase::New,
        ) => submit::propose(&mut d, actor, submission, source, event_id)?,
        (Action::Submit(_) | Action::Propose { .. }, _) => return Err(Rejection::AlreadySubmitted),
        (_, Phase::New) => return Err(Rejection::NoCase),
        (Action::Confirm, Phase::Proposed) => submit::confirm(&mut d, actor)?,
        (Action::Withdraw { tasks: None, .. }, Phase::Proposed) => {
            task::act(&mut d, actor, command)?
        }
        (Action::Tick, Phase::Proposed) => {}
        (Action::Confirm, _) => return Err(Rejection::NotProposed),
        (_, Phase::Proposed) => return Err(Rejection::NotConfirmed),
        (Action::Tick, _) => time::tick(&mut d),
        (
            Action::Evaluate {
                grade,
                department,
                comment,
            },
            Phase::Closed(_),
        ) => task::evaluate(&mut d, actor, *grade, department.as_deref(), comment)?,
        (Action::Evaluate { .. }, _) => return Err(Rejection::NotClosed),
        // After closing, verifications (告知承诺) and rectifications (好差评) go on.
        (action, Phase::Closed(_)) if task::after_close(action) => {
            task::act(&mut d, actor, command)?
        }
        (_, Phase::Closed(_)) => return Err(Rejection::CaseClosed),
        (_, Phase::Running) => task::act(&mut d, actor, command)?,
    }
    schedule::schedule(&mut d);
    Ok(d.events)
}

/// Replays events from an empty state.
pub fn replay<'a>(mut state: CaseState, events: impl IntoIterator<Item = &'a Event>) -> CaseState {
    for e in events {
        apply(&mut state, e);
    }
    state
}

/// The versions a case's stored events need, in order: the one it was submitted on, then
/// each it was migrated to (`case_migrated`); `None` when it was never migrated.
pub fn versions(events: &[Event]) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for e in events {
        if let EventKind::CaseMigrated { from, to, .. } = &e.kind {
            if out.is_empty() {
                out.push(*from);
            }
            out.push(*to);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Fills in the blueprint of each stored `case_migrated` event (stored events carry its
/// version only), so that [`replay`] switches blueprints where the case did. `resolve`
/// gives the bundle's blueprint of a version.
pub fn pin_blueprints(
    events: &mut [Event],
    resolve: impl Fn(u32) -> Option<Arc<yijian_definitions::Blueprint>>,
) {
    for e in events {
        if let EventKind::CaseMigrated { to, change, .. } = &mut e.kind
            && change.blueprint.is_none()
        {
            change.blueprint = resolve(*to).map(crate::event::Pinned);
        }
    }
}

/// The blueprint in force at each event: `first` (the version it was submitted on) until
/// a `case_migrated`, then that event's — for rendering events by task name.
pub fn blueprints_along<'a>(
    first: &'a Arc<yijian_definitions::Blueprint>,
    events: &'a [Event],
) -> impl Iterator<Item = (&'a Arc<yijian_definitions::Blueprint>, &'a Event)> + 'a {
    let mut current = first;
    events.iter().map(move |e| {
        let at = current;
        if let EventKind::CaseMigrated { change, .. } = &e.kind
            && let Some(bp) = &change.blueprint
        {
            current = &bp.0;
        }
        (at, e)
    })
}

/// The scratch state of one decision and the events decided so far.
pub(crate) struct Decider<'a> {
    pub(crate) state: &'a mut CaseState,
    pub(crate) events: Vec<Event>,
    pub(crate) now: Timestamp,
}

impl Decider<'_> {
    /// Records an event and applies it to the scratch state.
    pub(crate) fn emit(&mut self, actor: &Actor, reason: Option<String>, kind: EventKind) {
        let event = Event {
            at: self.now,
            actor: actor.clone(),
            reason,
            kind,
        };
        apply(self.state, &event);
        self.events.push(event);
    }
}
