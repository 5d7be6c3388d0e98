//! The built-in department queues: dispatched units of departments without an adapter wait
//! here for their back office to fetch them (fetch-and-lock with leases, long polling).
//!
//! The queue is an index over the cases, not a second truth: a lease is an event of the
//! case (`task_leased`), so leases survive restarts, and `recover` rebuilds the queues from
//! the units that are dispatched and not leased.

use std::collections::{HashMap, HashSet, VecDeque};
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
use crate::store::Store;

#[derive(Debug, Clone)]
struct Item {
    case_no: CaseNo,
    task: TaskRef,
    region: Arc<str>,
    since: Timestamp,
}

/// One department's waiting units, oldest first, with a set for duplicate checks (a unit
/// is queued once however often it is handed over).
#[derive(Debug, Default)]
struct DeptQueue {
    items: VecDeque<Item>,
    queued: HashSet<(CaseNo, TaskRef)>,
}

impl DeptQueue {
    fn push_back(&mut self, item: Item) -> bool {
        let fresh = self.queued.insert((item.case_no.clone(), item.task));
        if fresh {
            self.items.push_back(item);
        }
        fresh
    }

    /// Back at the front (a fetch that could not lease it), unless queued meanwhile.
    fn push_front(&mut self, item: Item) {
        if self.queued.insert((item.case_no.clone(), item.task)) {
            self.items.push_front(item);
        }
    }

    /// Up to `max` units, oldest first; with a scope, only cases whose region starts with it.
    fn take(&mut self, scope: Option<&str>, max: usize) -> Vec<Item> {
        let mut out = Vec::with_capacity(max.min(self.items.len()));
        match scope {
            None => {
                while out.len() < max {
                    let Some(item) = self.items.pop_front() else {
                        break;
                    };
                    out.push(item);
                }
            }
            Some(s) => {
                self.items.retain(|i| {
                    if out.len() < max && i.region.starts_with(s) {
                        out.push(i.clone());
                        false
                    } else {
                        true
                    }
                });
            }
        }
        for i in &out {
            self.queued.remove(&(i.case_no.clone(), i.task));
        }
        out
    }
}

/// Every department's queue.
#[derive(Debug, Default)]
pub(crate) struct Queues {
    // std Mutexes: short pushes and takes, never across an await.
    items: Mutex<HashMap<Arc<str>, DeptQueue>>,
    wake: Mutex<HashMap<Arc<str>, Arc<Notify>>>,
}

/// A department's queue at a glance (for metrics and supervisors).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueDepth {
    /// The department.
    pub department: String,
    /// Units waiting to be fetched.
    pub depth: usize,
    /// When the oldest of them was queued.
    pub oldest: Option<Timestamp>,
}

impl Queues {
    pub(crate) fn push(&self, work: &Work) {
        let item = Item {
            case_no: work.case_no.clone(),
            task: work.task,
            region: work.region.clone(),
            since: work.dispatched_at,
        };
        let dep = work.department().clone();
        let fresh = self
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(dep.clone())
            .or_default()
            .push_back(item);
        if fresh {
            self.notifier(&dep).notify_waiters();
        }
    }

    fn take(&self, department: &str, scope: Option<&str>, max: usize) -> Vec<Item> {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        match items.get_mut(department) {
            Some(q) => q.take(scope, max),
            None => Vec::new(),
        }
    }

    /// Returns taken items to the front of the department's queue (a fetch that could not
    /// lease them).
    fn put_back(&self, department: &str, back: Vec<Item>) {
        if back.is_empty() {
            return;
        }
        {
            let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
            let q = items.entry(Arc::from(department)).or_default();
            for item in back.into_iter().rev() {
                q.push_front(item);
            }
        }
        self.notifier(department).notify_waiters();
    }

    fn notifier(&self, department: &str) -> Arc<Notify> {
        let mut wake = self.wake.lock().unwrap_or_else(PoisonError::into_inner);
        wake.entry(Arc::from(department))
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone()
    }

    pub(crate) fn depths(&self) -> Vec<QueueDepth> {
        let items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<QueueDepth> = items
            .iter()
            .map(|(d, q)| QueueDepth {
                department: d.to_string(),
                depth: q.items.len(),
                oldest: q.items.iter().map(|i| i.since).min(),
            })
            .collect();
        out.sort_by(|a, b| a.department.cmp(&b.department));
        out
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
    /// Every department queue's depth and age.
    pub fn queue_depths(&self) -> Vec<QueueDepth> {
        self.inner.queues.depths()
    }

    /// Fetch-and-lock: leases up to `max` ready units of the department to the worker,
    /// waiting up to `wait` for the first one. Each lease is an event of its case; a
    /// batch's leases are handed to the store together and awaited together, so they share
    /// one group commit.
    ///
    /// # Errors
    /// A store error while recording the leases (the units not leased go back to the
    /// queue).
    pub async fn fetch(&self, req: &FetchRequest) -> Result<Vec<LeasedWork>, EngineError> {
        let deadline = tokio::time::Instant::now() + req.wait;
        let max = req.max.clamp(1, 100);
        loop {
            let notified = self.inner.queues.notifier(&req.department);
            let notified = notified.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let items = self
                .inner
                .queues
                .take(&req.department, req.region.as_deref(), max);
            let out = if items.is_empty() {
                Vec::new()
            } else {
                self.lease_batch(req, items).await?
            };
            if !out.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(out);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(out);
            }
        }
    }

    /// Leases `items` to the worker: every lease decided and handed to the store first,
    /// then every commit awaited.
    async fn lease_batch(
        &self,
        req: &FetchRequest,
        items: Vec<Item>,
    ) -> Result<Vec<LeasedWork>, EngineError> {
        if self.inner.closing.load(Ordering::Acquire) {
            self.inner.queues.put_back(&req.department, items);
            return Err(EngineError::ShuttingDown);
        }
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        let _guard = super::InFlight(&self.inner.in_flight, &self.inner.idle);
        let lease =
            jiff::SignedDuration::try_from(req.lease).unwrap_or(jiff::SignedDuration::from_mins(5));
        let actor = Actor::Department(Arc::from(req.department.as_str()));
        let mut prepared = Vec::with_capacity(items.len());
        let mut items = items.into_iter();
        let mut failed = None;
        for item in items.by_ref() {
            let until = self
                .inner
                .clock
                .now()
                .checked_add(lease)
                .unwrap_or(Timestamp::MAX);
            let command = Command::new(
                actor.clone(),
                Action::Lease {
                    task: item.task,
                    worker: req.worker.clone(),
                    until,
                },
            );
            match self
                .prepare(&item.case_no, &command, None, None, true, None)
                .await
            {
                Ok((stepped, pending)) => prepared.push((item, stepped, pending)),
                // Settled, leased elsewhere or withdrawn meanwhile: not ours any more.
                Err(EngineError::Rejected(_) | EngineError::UnknownCase { .. }) => {}
                Err(e) => {
                    failed = Some((Some(item), e));
                    break;
                }
            }
        }
        let mut out = Vec::with_capacity(prepared.len());
        let mut effects = VecDeque::new();
        for (item, stepped, pending) in prepared {
            if let Err(e) = self.settle(&item.case_no, pending).await {
                // Not leased after all: the unit is still dispatched; the queue keeps it.
                self.inner.queues.put_back(&req.department, vec![item]);
                if failed.is_none() {
                    failed = Some((None, e));
                }
                continue;
            }
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
                .with_case(&item.case_no, |s| {
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
        if let Some((item, e)) = failed {
            // The units not reached go back to the queue.
            let rest: Vec<Item> = item.into_iter().chain(items).collect();
            self.inner.queues.put_back(&req.department, rest);
            // Leases already recorded are handed out; the error only when none was.
            if out.is_empty() {
                return Err(e);
            }
        }
        Ok(out)
    }
    /// Whether a unit is waiting in a queue (dispatched, no live lease).
    pub(crate) fn queueable(state: &crate::case::CaseState, r: TaskRef, now: Timestamp) -> bool {
        state.unit(r).is_some_and(|u| {
            u.status == UnitStatus::Dispatched && u.lease.as_ref().is_none_or(|l| !l.is_live(now))
        })
    }
}
