//! Timers from the store: each case's next timer (deadline warnings, lease expiry, retries,
//! 容缺 and supplement due dates, verification deadlines) is a column written with its
//! commit. Any node claims due timers (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and fires
//! each as a `Tick` command of its case at the timer's own instant, written with the case's
//! version check: a timer fires once across all nodes, and one a node claimed before it
//! died is claimed again by another once the claim's hold ends.

use tracing::warn;

use super::{Engine, Want};
use crate::command::{Action, Command};
use crate::store::Store;

/// How many due timers one claim takes.
const CLAIM: usize = 64;

/// How long a claim holds its timers for the claimer.
const HOLD: jiff::SignedDuration = jiff::SignedDuration::from_secs(30);

/// How often `run_timers` looks for deliveries owed.
const SWEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// How often `run_timers` looks at the store at most idly.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

impl<S: Store> Engine<S> {
    /// The earliest pending timer of any case in the store.
    ///
    /// # Errors
    /// A store error.
    pub async fn next_timer(&self) -> Result<Option<jiff::Timestamp>, super::EngineError> {
        Ok(self.inner.store.next_timer().await?)
    }

    /// Fires every timer due up to `until`, in time order, each at its own instant (so a
    /// warning is recorded when it became due, even when the engine catches up after a
    /// restart or a simulation jumps ahead). Timers another node holds are left to it.
    /// Returns how many fired.
    pub async fn fire_timers(&self, until: jiff::Timestamp) -> usize {
        let mut fired = 0;
        loop {
            let hold = self
                .inner
                .clock
                .now()
                .max(until)
                .checked_add(HOLD)
                .unwrap_or(jiff::Timestamp::MAX);
            let due = match self.inner.store.claim_timers(until, hold, CLAIM).await {
                Ok(due) => due,
                Err(e) => {
                    warn!(error = %e, "due timers could not be claimed");
                    return fired;
                }
            };
            if due.is_empty() {
                return fired;
            }
            for (case_no, at) in due {
                fired += 1;
                let tick = Command::new(crate::ids::Actor::Engine, Action::Tick);
                if let Err(e) = self
                    .run(case_no.clone(), &tick, None, None, Want::Events, Some(at))
                    .await
                {
                    warn!(case.no = %case_no, error = %e, "a timer could not fire");
                }
            }
        }
    }

    /// Hands pushed units whose delivery is owed and whose hold has passed (their
    /// dispatching node did not deliver them, or died) to their adapters again, holding
    /// them for another round. Returns how many were handed over.
    pub async fn redeliver(&self) -> usize {
        let departments = self.adapter_departments();
        let now = self.inner.clock.now();
        let mut n = 0;
        for department in departments {
            let claim = crate::store::ReadyClaim {
                department,
                scope: None,
                now,
                hold_until: now.checked_add(super::effects::REDELIVER).unwrap_or(now),
                limit: CLAIM,
                pushed: true,
                kinds: Vec::new(),
            };
            let owed = match self.inner.store.claim_ready(&claim).await {
                Ok(owed) => owed,
                Err(e) => {
                    warn!(error = %e, "deliveries owed could not be claimed");
                    continue;
                }
            };
            for unit in owed {
                let work = self.pending_work(&unit, now).await;
                if let Ok(Some(w)) = work {
                    n += 1;
                    let mut queue = std::collections::VecDeque::new();
                    self.hand_over(&w, &mut queue);
                    self.drain(queue).await;
                }
            }
        }
        n
    }

    /// Runs timers on the engine's clock until `shutdown` resolves: fires what is due, then
    /// sleeps until the next timer in the store, at most [`RECHECK`] (timers another node
    /// set are seen within it). Every few seconds it also hands deliveries owed by other
    /// nodes to their adapters ([`Engine::redeliver`]).
    pub async fn run_timers(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut swept = tokio::time::Instant::now();
        loop {
            let now = self.inner.clock.now();
            self.fire_timers(now).await;
            if swept.elapsed() >= SWEEP {
                swept = tokio::time::Instant::now();
                self.redeliver().await;
            }
            let wait = match self.next_timer().await {
                Ok(Some(t)) => t.duration_since(self.inner.clock.now()).clamp(
                    jiff::SignedDuration::ZERO,
                    jiff::SignedDuration::from_secs(1),
                ),
                _ => jiff::SignedDuration::from_secs(1),
            };
            let wait = std::time::Duration::try_from(wait).unwrap_or(RECHECK);
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait.min(RECHECK)) => {}
            }
        }
    }
}
