//! Department queues: dispatched units wait in the store's task table for their back
//! office to fetch them (fetch-and-lock with leases, long polling).
//!
//! The queue is the store's, not a node's: a fetch claims ready units with one statement
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), then leases each with a command of its case
//! (`task_leased`, with its fencing token), written with the case's version check. A long
//! poll waits for a wake-up — a commit on this node, or a notice from another node through
//! the store — and re-checks the store at least every [`RECHECK`], so a lost wake-up costs
//! at most that.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::Notify;

use super::{Engine, EngineError};
use crate::adapter::Work;
use crate::case::UnitStatus;
use crate::command::{Action, Command};
use crate::event::EventKind;
use crate::ids::{Actor, CaseNo, TaskRef};
use crate::store::{Claimed, ReadyClaim, Store};

pub use crate::store::QueueDepth;

/// How often a waiting fetch looks at the store even without a wake-up, by default.
pub(crate) const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a fetch holds the units it claimed while it leases them.
const HOLD: jiff::SignedDuration = jiff::SignedDuration::from_secs(10);

/// Wake-ups of waiting fetches, per department.
#[derive(Debug, Default)]
pub(crate) struct Queues {
    // std Mutex: short lookups, never across an await.
    wake: Mutex<HashMap<Arc<str>, Arc<Notify>>>,
}

impl Queues {
    /// Wakes the fetches waiting on this node for the department.
    pub(crate) fn wake(&self, department: &str) {
        let found = self
            .wake
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(department)
            .cloned();
        if let Some(n) = found {
            n.notify_waiters();
        }
    }

    fn notifier(&self, department: &str) -> Arc<Notify> {
        let mut wake = self.wake.lock().unwrap_or_else(PoisonError::into_inner);
        wake.entry(Arc::from(department))
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone()
    }
}

/// What a back office asks for.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The department.
    pub department: String,
    /// Only cases whose region code starts with this (a token scoped to a region subtree).
    pub region: Option<String>,
    /// At most this many units (1..=100).
    pub max: usize,
    /// How long each lease lasts.
    pub lease: std::time::Duration,
    /// How long to wait for the first unit when none is ready (long polling).
    pub wait: std::time::Duration,
    /// The worker's name.
    pub worker: String,
    /// Only units of these kinds (`licence`, `partner_check`, `fire_check.verify`,
    /// `rectify`: [`crate::TaskRef::kind`]); empty: every unit of the department.
    pub kinds: Vec<String>,
}

/// A unit leased to a worker.
#[derive(Debug, Clone, Serialize)]
pub struct LeasedWork {
    /// The work.
    #[serde(flatten)]
    pub work: Work,
    /// The fencing token: every later call about this unit names it.
    pub lease_token: u64,
    /// When the lease expires unless extended.
    pub lease_expires_at: Timestamp,
    /// When the unit's promised limit ends.
    pub deadline: Option<Timestamp>,
}

impl<S: Store> Engine<S> {
    /// Every department queue's depth and age, from the store.
    ///
    /// # Errors
    /// A store error.
    pub async fn queue_depths(&self) -> Result<Vec<QueueDepth>, EngineError> {
        Ok(self
            .inner
            .store
            .queue_depths(self.inner.clock.now())
            .await?)
    }

    /// Fetch-and-lock: leases up to `max` ready units of the department to the worker,
    /// waiting up to `wait` for the first one. The units are claimed from the store, then
    /// each lease is an event of its case; a batch's leases are handed to the store
    /// together and awaited together, so they share one group commit.
    ///
    /// # Errors
    /// A store error while claiming, or while recording the leases when none was recorded.
    pub async fn fetch(&self, req: &FetchRequest) -> Result<Vec<LeasedWork>, EngineError> {
        let deadline = tokio::time::Instant::now() + req.wait;
        let max = req.max.clamp(1, 100);
        loop {
            if self.inner.closing.load(Ordering::Acquire) {
                return Err(EngineError::ShuttingDown);
            }
            let notified = self.inner.queues.notifier(&req.department);
            let notified = notified.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = self.inner.clock.now();
            let claimed = self
                .inner
                .store
                .claim_ready(&ReadyClaim {
                    department: req.department.clone(),
                    scope: req.region.clone(),
                    now,
                    hold_until: now.checked_add(HOLD).unwrap_or(Timestamp::MAX),
                    limit: max,
                    pushed: false,
                    kinds: req.kinds.clone(),
                })
                .await?;
            let out = if claimed.is_empty() {
                Vec::new()
            } else {
                self.lease_batch(req, claimed).await?
            };
            let at = tokio::time::Instant::now();
            if !out.is_empty() || at >= deadline {
                return Ok(out);
            }
            let recheck = deadline.min(at + self.inner.recheck);
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(recheck) => {}
            }
        }
    }

    /// Leases the claimed units to the worker: every lease decided and handed to the store
    /// first, then every commit awaited. A unit whose case moved on meanwhile (another
    /// node) is leased again on the case as it now is, or left if it is no longer ready.
    async fn lease_batch(
        &self,
        req: &FetchRequest,
        items: Vec<Claimed>,
    ) -> Result<Vec<LeasedWork>, EngineError> {
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        let _guard = super::InFlight(&self.inner.in_flight, &self.inner.idle);
        let lease =
            jiff::SignedDuration::try_from(req.lease).unwrap_or(jiff::SignedDuration::from_mins(5));
        let actor = Actor::Department(Arc::from(req.department.as_str()));
        let command = |task| {
            let until = self
                .inner
                .clock
                .now()
                .checked_add(lease)
                .unwrap_or(Timestamp::MAX);
            Command::new(
                actor.clone(),
                Action::Lease {
                    task,
                    worker: req.worker.clone(),
                    until,
                },
            )
        };
        let round: Vec<(CaseNo, Command)> = items
            .iter()
            .map(|item| (item.case_no.clone(), command(item.task)))
            .collect();
        let results = self.step_all(&round, true).await;
        let mut settled = Vec::with_capacity(items.len());
        let mut failed = None;
        for (item, result) in items.into_iter().zip(results) {
            match result {
                Ok(stepped) => settled.push((item, stepped)),
                // Settled, leased elsewhere or withdrawn: not ours any more.
                Err(EngineError::Rejected(_) | EngineError::UnknownCase { .. }) => {}
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        let mut out = Vec::with_capacity(settled.len());
        let mut effects = VecDeque::new();
        for (item, stepped) in settled {
            self.effects(&stepped.effects, &mut effects);
            let Some((token, expires_at)) = stepped.events.iter().find_map(|e| match &e.kind {
                EventKind::TaskLeased {
                    token, expires_at, ..
                } => Some((*token, *expires_at)),
                _ => None,
            }) else {
                continue;
            };
            let leased = self
                .with_cached(&item.case_no, |s| {
                    let u = s.unit(item.task)?;
                    let input = u.input.clone().unwrap_or_default();
                    let work = super::work_of(
                        s,
                        item.task,
                        u.attempts,
                        input,
                        u.dispatched_at.unwrap_or(expires_at),
                    );
                    Some(LeasedWork {
                        work,
                        lease_token: token,
                        lease_expires_at: expires_at,
                        deadline: u.due,
                    })
                })
                .await?;
            out.extend(leased);
        }
        self.drain(effects).await;
        // Leases already recorded are handed out; the error only when none was. Units not
        // leased stay in the store and are claimable again once their hold ends.
        match failed {
            Some(e) if out.is_empty() => Err(e),
            _ => Ok(out),
        }
    }

    /// Whether a unit is waiting in a queue (dispatched, no live lease).
    pub(crate) fn queueable(state: &crate::case::CaseState, r: TaskRef, now: Timestamp) -> bool {
        state.unit(r).is_some_and(|u| {
            u.status == UnitStatus::Dispatched && u.lease.as_ref().is_none_or(|l| !l.is_live(now))
        })
    }
}
