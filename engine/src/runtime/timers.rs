//! Timers: every case's next timer in one time-ordered index, fired in order as `Tick`
//! commands. Timers are not stored: they are read off the case state (`next_timer`), so
//! recovery re-arms them by loading the cases.

use std::collections::HashMap;
use std::sync::PoisonError;

use tracing::warn;

use super::{Engine, Want};
use crate::command::{Action, Command};
use crate::ids::{Actor, CaseNo};
use crate::store::Store;

/// When each case's next timer fires, ordered by time.
#[derive(Debug, Default)]
pub(super) struct Timers {
    by_time: std::collections::BTreeSet<(jiff::Timestamp, CaseNo)>,
    by_case: HashMap<CaseNo, jiff::Timestamp>,
}

impl<S: Store> Engine<S> {
    /// Records (or clears) a case's next timer.
    pub(super) fn set_timer(&self, case_no: &CaseNo, at: Option<jiff::Timestamp>) {
        let mut t = self
            .inner
            .timers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = match at {
            Some(at) => t.by_case.insert(case_no.clone(), at),
            None => t.by_case.remove(case_no),
        };
        if old == at {
            return;
        }
        if let Some(old) = old {
            t.by_time.remove(&(old, case_no.clone()));
        }
        if let Some(at) = at {
            let earliest = t.by_time.first().is_none_or(|(first, _)| at < *first);
            t.by_time.insert((at, case_no.clone()));
            if earliest {
                self.inner.timer_wake.notify_one();
            }
        }
    }

    /// The earliest pending timer.
    pub fn next_timer(&self) -> Option<jiff::Timestamp> {
        self.inner
            .timers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_time
            .first()
            .map(|(t, _)| *t)
    }

    /// Fires every timer due up to `until`, in time order, each at its own instant (so a
    /// warning is recorded when it became due, even when the engine catches up after a
    /// restart or a simulation jumps ahead). Returns how many fired.
    pub async fn fire_timers(&self, until: jiff::Timestamp) -> usize {
        let mut fired = 0;
        loop {
            let due = {
                let mut t = self
                    .inner
                    .timers
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                match t.by_time.first().cloned() {
                    Some((at, no)) if at <= until => {
                        t.by_time.remove(&(at, no.clone()));
                        t.by_case.remove(&no);
                        Some((at, no))
                    }
                    _ => None,
                }
            };
            let Some((at, case_no)) = due else {
                return fired;
            };
            fired += 1;
            let tick = Command::new(Actor::Engine, Action::Tick);
            if let Err(e) = self
                .run(case_no.clone(), &tick, None, None, Want::Events, Some(at))
                .await
            {
                warn!(case.no = %case_no, error = %e, "a timer could not fire");
            }
        }
    }

    /// Runs timers on the engine's clock until `shutdown` resolves: sleeps until the next
    /// timer (or a new earlier one), then fires what is due.
    pub async fn run_timers(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let now = self.inner.clock.now();
            self.fire_timers(now).await;
            let wait = match self.next_timer() {
                Some(t) => t.duration_since(self.inner.clock.now()).clamp(
                    jiff::SignedDuration::ZERO,
                    jiff::SignedDuration::from_secs(60),
                ),
                None => jiff::SignedDuration::from_secs(60),
            };
            let wait =
                std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::from_secs(1));
            tokio::select! {
                () = &mut shutdown => return,
                () = self.inner.timer_wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
