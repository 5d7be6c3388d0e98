//! The runtime: an [`Engine`] handle (cheap `Clone`) that runs cases on a store, hands
//! dispatched tasks to adapters, and applies their answers.
//!
//! The store is the truth; the engine's memory is a bounded cache of cases. Each command
//! runs as: take the case (cached, or replayed from the store), `decide`, apply the events,
//! hand the commit to the store while still holding the case (so a case's commits are
//! ordered), release the case, wait for the commit, then perform the effects — dispatches
//! to adapters and cancellation notices. The commit is written with a compare-and-set on
//! the case's version: when another node sharing the store moved the case first, the
//! command is decided again on the case as stored (bounded), so callers never see a
//! conflict caused by another node. A decision an adapter makes at once is applied in the
//! same call, without another round trip. Queues and timers are read from the store
//! (see [`crate::store::WorkStore`]).

mod answer;
mod api;
mod builder;
mod cache;
mod effects;
mod migrate;
pub use migrate::{MigrationReport, MigrationRequest};
mod numbering;
mod queue;
mod step;
mod timers;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tracing::warn;
use yijian_definitions::{Blueprint, CheckOptions, Diagnostic};

use crate::adapter::{Adapter, BoxFuture, CommandSink, Dispatch, Replier, Work};
use crate::case::CaseState;
use crate::clock::{Clock, SystemClock};
use crate::command::{Command, Submission};
use crate::event::Event;
use crate::ids::{Actor, CaseNo};
use crate::rejection::Rejection;
use crate::store::{Store, StoreError};
use crate::view::CaseView;

pub use builder::EngineBuilder;
pub(crate) use effects::work_of;
use effects::{Effect, hex, region_of, rows_of, summary_of};
pub use numbering::{CaseNumbering, DefaultNumbering};
pub use queue::{FetchRequest, LeasedWork, QueueDepth};

/// Why the engine could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The case machine refused the command (nothing changed).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The store failed (nothing was acknowledged).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such case.
    #[error("no case {case_no}")]
    UnknownCase {
        /// The case number given.
        case_no: CaseNo,
    },
    /// No such bundle (or version) deployed.
    #[error("no bundle {id}{} is deployed", version.map(|v| format!(" version {v}")).unwrap_or_default())]
    UnknownBundle {
        /// Bundle id.
        id: String,
        /// Version, when one was named.
        version: Option<u32>,
    },
    /// The bundle text has errors.
    #[error("the bundle has {} error(s)", diagnostics.iter().filter(|d| d.is_error()).count())]
    InvalidBundle {
        /// Every finding.
        diagnostics: Vec<Diagnostic>,
    },
    /// A task name that is not in the case's bundle.
    #[error("no task `{task}` in case {case_no}")]
    UnknownTask {
        /// The case.
        case_no: CaseNo,
        /// The name given.
        task: String,
    },
    /// The engine is shutting down and takes no new commands.
    #[error("the engine is shutting down")]
    ShuttingDown,
}

/// A submission with its routing.
#[derive(Debug, Clone, Default)]
pub struct SubmitRequest {
    /// Bundle id.
    pub bundle: String,
    /// Bundle version (default: the latest deployed).
    pub version: Option<u32>,
    /// The application.
    pub submission: Submission,
    /// Repeating a submission with the same key creates nothing and returns the first
    /// answer: the case as its submission left it (see [`Engine::submit`]).
    pub idempotency_key: Option<String>,
    /// Who submits (default: the applicant).
    pub actor: Option<Actor>,
}

/// The result of a deploy.
#[derive(Debug, Clone)]
pub struct DeployResult {
    /// Bundle id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// Whether it was new.
    pub created: bool,
    /// Warnings from the check.
    pub warnings: Vec<Diagnostic>,
    /// The compiled bundle.
    pub blueprint: Arc<Blueprint>,
}

const SHARDS: usize = 64;
/// How often a command is decided again after another node moved its case first.
const CONFLICT_RETRIES: u32 = 8;

/// Why [`Engine::prepare`] did not hand a commit over.
enum Failure {
    /// The engine's answer.
    Engine(EngineError),
    /// Refused on a cached copy that may be behind the store (another node): the copy was
    /// dropped; decide again on the case as stored.
    Stale,
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        Failure::Engine(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Engine(e.into())
    }
}

/// Live cases of one shard (foldhash: case numbers are not attacker-chosen keys).
type CaseMap = HashMap<CaseNo, CaseState, foldhash::fast::RandomState>;
const KEY_LOCKS: usize = 64;

/// The engine handle. Clones share one engine.
pub struct Engine<S: Store> {
    inner: Arc<Inner<S>>,
}

impl<S: Store> Clone for Engine<S> {
    fn clone(&self) -> Self {
        Engine {
            inner: self.inner.clone(),
        }
    }
}

impl<S: Store> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("cases_in_memory", &self.cases_in_memory())
            .finish()
    }
}

struct Inner<S> {
    store: S,
    /// The engine as a command sink for repliers, allocated once (a weak reference, so
    /// repliers held by back offices do not keep a dropped engine alive).
    sink: Arc<dyn CommandSink>,
    clock: Arc<dyn Clock>,
    numbering: Arc<dyn CaseNumbering>,
    check: CheckOptions,
    adapters: RwLock<HashMap<String, Arc<dyn Adapter>>>,
    blueprints: RwLock<Blueprints>,
    // std Mutex per shard: held only around decide/apply and the (synchronous) hand-over of
    // the commit to the store, never across an await.
    shards: Box<[Mutex<CaseMap>]>,
    key_locks: Box<[tokio::sync::Mutex<()>]>,
    seq: AtomicU64,
    /// Most cases held per shard (the cache's bound, spread over the shards).
    per_shard: usize,
    /// How often a waiting fetch re-checks the store.
    recheck: std::time::Duration,
    queues: Arc<queue::Queues>,
    in_flight: AtomicUsize,
    idle: tokio::sync::Notify,
    closing: AtomicBool,
    keep_closed: bool,
    calendars: Option<Arc<HashMap<String, Arc<crate::calendar::Calendar>>>>,
    hasher: foldhash::fast::RandomState,
    /// When the store last refused a commit as unavailable (full disk, read-only file,
    /// database gone), in milliseconds after `started` (0: none); cleared by the next
    /// commit it takes. An atomic: every commit looks at it.
    write_failed: AtomicU64,
    /// When the engine was built (the origin of `write_failed`).
    started: std::time::Instant,
}

#[derive(Default)]
struct Blueprints {
    versions: HashMap<(String, u32), Arc<Blueprint>>,
    latest: HashMap<String, u32>,
}

/// Counts a command in flight, for graceful shutdown.
struct InFlight<'a>(&'a AtomicUsize, &'a tokio::sync::Notify);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.1.notify_waiters();
        }
    }
}

impl<S: Store> Engine<S> {
    /// A builder over `store`.
    pub fn builder(store: S) -> EngineBuilder<S> {
        EngineBuilder {
            store,
            clock: Arc::new(SystemClock),
            numbering: Arc::new(DefaultNumbering::default()),
            check: CheckOptions::default(),
            keep_closed: false,
            calendars: None,
            cache: 100_000,
            recheck: queue::RECHECK,
        }
    }

    /// How long ago the store last refused a commit as unavailable (a full disk, a
    /// read-only file, a database gone), if no commit succeeded since.
    pub fn write_failing_for(&self) -> Option<std::time::Duration> {
        let at = self.inner.write_failed.load(Ordering::Relaxed);
        (at != 0).then(|| {
            self.inner
                .started
                .elapsed()
                .saturating_sub(std::time::Duration::from_millis(at))
        })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Registers the adapter for a department (replacing any earlier one).
    pub fn register_adapter(&self, department: impl Into<String>, adapter: Arc<dyn Adapter>) {
        self.inner
            .adapters
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(department.into(), adapter);
    }

    fn adapter(&self, department: &str) -> Option<Arc<dyn Adapter>> {
        self.inner
            .adapters
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(department)
            .cloned()
    }

    fn register_blueprint(&self, bp: Arc<Blueprint>) {
        let mut b = self
            .inner
            .blueprints
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let latest = b.latest.entry(bp.id.to_string()).or_insert(bp.version);
        *latest = (*latest).max(bp.version);
        b.versions.insert((bp.id.to_string(), bp.version), bp);
    }

    /// A deployed bundle: the named version, or the latest.
    pub fn blueprint(&self, id: &str, version: Option<u32>) -> Option<Arc<Blueprint>> {
        let b = self
            .inner
            .blueprints
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let v = version.or_else(|| b.latest.get(id).copied())?;
        b.versions.get(&(id.to_owned(), v)).cloned()
    }

    /// The deployment's working-day calendars (the built-in ones when none were given).
    ///
    /// # Errors
    /// A built-in calendar file that does not load (the tests load every one).
    pub fn calendars(&self) -> Result<crate::calendar::Calendars, crate::calendar::LoadError> {
        match &self.inner.calendars {
            None => crate::calendar::Calendars::builtin(),
            Some(map) => {
                let mut all = crate::calendar::Calendars::new();
                for c in map.values() {
                    all.insert((**c).clone());
                }
                Ok(all)
            }
        }
    }

    /// Checks a bundle's text as a deploy would (the deployment's calendars and limits),
    /// without deploying it: the compiled blueprint and its warnings, or every diagnostic.
    ///
    /// # Errors
    /// The diagnostics when the bundle has errors.
    pub fn check(
        &self,
        yaml: &str,
    ) -> Result<
        (Arc<Blueprint>, Vec<yijian_definitions::Diagnostic>),
        Vec<yijian_definitions::Diagnostic>,
    > {
        yijian_definitions::compile(yaml, &self.inner.check)
    }

    /// Every deployed bundle version.
    pub fn blueprints(&self) -> Vec<Arc<Blueprint>> {
        let b = self
            .inner
            .blueprints
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<_> = b.versions.values().cloned().collect();
        v.sort_by(|a, b| (&a.id, a.version).cmp(&(&b.id, b.version)));
        v
    }

    /// How many cases are held in memory.
    pub fn cases_in_memory(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Stops taking commands and waits for those in flight to finish.
    pub async fn shutdown(&self) {
        self.inner.closing.store(true, Ordering::Release);
        loop {
            let notified = self.inner.idle.notified();
            if self.inner.in_flight.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// A case's initial state, on the deployment's calendar for its bundle.
    fn new_state(&self, case_no: &CaseNo, bp: Arc<Blueprint>) -> CaseState {
        let state = CaseState::new(case_no.clone(), bp);
        match &self.inner.calendars {
            Some(cals) => {
                let cal = cals.get(&state.blueprint.calendar).cloned();
                state.with_calendar(cal)
            }
            None => state,
        }
    }

    fn slot<K: Hash + ?Sized>(&self, key: &K, n: usize) -> usize {
        (self.inner.hasher.hash_one(key) as usize) % n
    }

    fn shard(&self, case_no: &CaseNo) -> &Mutex<CaseMap> {
        &self.inner.shards[self.slot(case_no, SHARDS)]
    }

    /// Runs a command and then every decision adapters make at once, in order. Returns the
    /// first command's events, or the case's view at the end, as asked.
    async fn run(
        &self,
        case_no: CaseNo,
        command: &Command,
        new_case: Option<Arc<Blueprint>>,
        key: Option<String>,
        want: Want,
        at: Option<jiff::Timestamp>,
    ) -> Result<(Vec<Event>, Option<CaseView>), EngineError> {
        if self.inner.closing.load(Ordering::Acquire) {
            return Err(EngineError::ShuttingDown);
        }
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        let _guard = InFlight(&self.inner.in_flight, &self.inner.idle);
        let first = self
            .step(&case_no, command, new_case, key, want == Want::Events, at)
            .await?;
        let mut closed = first.closed;
        let mut queue = VecDeque::new();
        self.effects(&first.effects, &mut queue);
        // Decisions adapters made at once are decided and handed to the store together, then
        // awaited together: one group commit per round instead of one per decision. Their
        // effects still run only after their own commits.
        while !queue.is_empty() {
            let round: Vec<(CaseNo, Command)> = queue.drain(..).collect();
            let results = self.step_all(&round, false).await;
            for ((no, _), result) in round.into_iter().zip(results) {
                match result {
                    Ok(next) => {
                        self.effects(&next.effects, &mut queue);
                        if next.closed.is_some() && no == case_no {
                            closed = next.closed;
                        }
                    }
                    Err(e) => {
                        warn!(case.no = %no, error = %e, "an adapter's decision was not applied")
                    }
                }
            }
        }
        let view = match want {
            Want::View => match closed {
                // Closed during this call and dropped from memory: no need to read it back.
                Some(state) => Some(CaseView::of(&state)),
                None => self.with_cached(&case_no, CaseView::of).await.ok(),
            },
            Want::Events => None,
        };
        Ok((first.events, view))
    }

    /// Applies adapter decisions until none is left.
    async fn drain(&self, mut queue: VecDeque<(CaseNo, Command)>) {
        while let Some((no, cmd)) = queue.pop_front() {
            match self.step(&no, &cmd, None, None, false, None).await {
                Ok(next) => self.effects(&next.effects, &mut queue),
                Err(e) => warn!(case.no = %no, error = %e, "an adapter's decision was not applied"),
            }
        }
    }

    /// Dispatches and cancellation notices, after commit.
    fn effects(&self, effects: &[Effect], queue: &mut VecDeque<(CaseNo, Command)>) {
        for e in effects {
            match e {
                Effect::Dispatch(work) | Effect::Requeue(work) => self.hand_over(work, queue),
                Effect::Cancel(notice) => {
                    if let Some(a) = self.adapter(&notice.department) {
                        a.cancel(notice);
                    }
                }
            }
        }
    }

    fn hand_over(&self, work: &Work, queue: &mut VecDeque<(CaseNo, Command)>) {
        let Some(adapter) = self.adapter(work.department()) else {
            // No adapter: the department's back office fetches it from the store's queue.
            self.inner.queues.wake(work.department());
            return;
        };
        let replier = Replier::new(
            self.inner.sink.clone(),
            work.case_no.clone(),
            work.task,
            work.department().clone(),
            work.attempt,
        );
        match adapter.dispatch(work, &replier) {
            Dispatch::Decided(decision) => {
                let command = Command::new(
                    Actor::Department(work.department().clone()),
                    decision.into_action(work.task),
                );
                queue.push_back((work.case_no.clone(), command));
            }
            Dispatch::Queue => self.inner.queues.wake(work.department()),
            Dispatch::Pending => {}
        }
    }
}

impl<S: Store> CommandSink for Engine<S> {
    fn execute(
        &self,
        case_no: CaseNo,
        command: Command,
    ) -> BoxFuture<'static, Result<Vec<Event>, EngineError>> {
        let engine = self.clone();
        Box::pin(async move { engine.execute(&case_no, command).await })
    }
}

/// The engine seen by repliers; see `Inner::sink`.
struct WeakSink<S>(std::sync::Weak<Inner<S>>);

impl<S: Store> CommandSink for WeakSink<S> {
    fn execute(
        &self,
        case_no: CaseNo,
        command: Command,
    ) -> BoxFuture<'static, Result<Vec<Event>, EngineError>> {
        let inner = self.0.upgrade();
        Box::pin(async move {
            match inner {
                Some(inner) => Engine { inner }.execute(&case_no, command).await,
                None => Err(EngineError::ShuttingDown),
            }
        })
    }
}

/// What a caller of `run` wants back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// The first command's events.
    Events,
    /// The case's view at the end.
    View,
}

/// The result of one step.
struct Stepped {
    events: Vec<Event>,
    effects: Vec<Effect>,
    closed: Option<CaseState>,
}
