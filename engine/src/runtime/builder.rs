//! Building an [`Engine`]: store, clock, numbering, calendars, check options.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, RwLock};

use yijian_definitions::CheckOptions;

use super::numbering::CaseNumbering;
use super::{Blueprints, CaseMap, Engine, EngineError, Inner, KEY_LOCKS, SHARDS, WeakSink, queue};
use crate::clock::Clock;
use crate::store::Store;

/// Builds an [`Engine`].
pub struct EngineBuilder<S: Store> {
    pub(super) store: S,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) numbering: Arc<dyn CaseNumbering>,
    pub(super) check: CheckOptions,
    pub(super) keep_closed: bool,
    pub(super) calendars: Option<Arc<HashMap<String, Arc<crate::calendar::Calendar>>>>,
    pub(super) cache: usize,
    pub(super) recheck: std::time::Duration,
}

impl<S: Store> std::fmt::Debug for EngineBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("clock", &self.clock)
            .finish()
    }
}

impl<S: Store> EngineBuilder<S> {
    /// Uses this clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses this case numbering (default: [`DefaultNumbering`]).
    #[must_use]
    pub fn numbering(mut self, numbering: Arc<dyn CaseNumbering>) -> Self {
        self.numbering = numbering;
        self
    }

    /// Check options for deployed bundles (known calendars, input limits).
    #[must_use]
    pub fn check_options(mut self, check: CheckOptions) -> Self {
        self.check = check;
        self
    }

    /// Working-day calendars of the deployment (default: the built-in ones). Bundles may
    /// only name calendars from this set.
    #[must_use]
    pub fn calendars(mut self, calendars: crate::calendar::Calendars) -> Self {
        self.check.calendars = calendars.ids().map(|id| id.as_str().to_owned()).collect();
        self.calendars = Some(Arc::new(
            calendars
                .iter()
                .map(|c| (c.id().as_str().to_owned(), Arc::new(c.clone())))
                .collect(),
        ));
        self
    }

    /// Keep closed cases in memory (default: dropped from memory once closed; they stay in
    /// the store and are read back on demand).
    #[must_use]
    pub fn keep_closed_cases(mut self, keep: bool) -> Self {
        self.keep_closed = keep;
        self
    }

    /// At most this many cases are kept in memory (default 100,000): a cache, since the
    /// store is the truth; a case not cached is read from the store when it is used.
    #[must_use]
    pub fn cache_capacity(mut self, cases: usize) -> Self {
        self.cache = cases.max(SHARDS);
        self
    }

    /// How often a waiting fetch looks at the store when no wake-up came (default 1 s):
    /// the most a lost wake-up can delay a fetch.
    #[must_use]
    pub fn fetch_recheck(mut self, every: std::time::Duration) -> Self {
        self.recheck = every.max(std::time::Duration::from_millis(10));
        self
    }

    /// Starts the engine: loads every deployed bundle from the store and continues the case
    /// numbering after the store's last case. Nothing else is read: cases, queues and
    /// timers stay in the store.
    ///
    /// # Errors
    /// A store error, or a stored bundle that no longer checks.
    pub async fn build(self) -> Result<Engine<S>, EngineError> {
        let count = self.store.case_count().await?;
        let inner = Arc::new_cyclic(|weak: &std::sync::Weak<Inner<S>>| Inner {
            store: self.store,
            sink: Arc::new(WeakSink(weak.clone())),
            clock: self.clock,
            numbering: self.numbering,
            check: self.check,
            adapters: RwLock::new(HashMap::new()),
            blueprints: RwLock::new(Blueprints::default()),
            shards: (0..SHARDS)
                .map(|_| Mutex::new(CaseMap::default()))
                .collect(),
            key_locks: (0..KEY_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            seq: AtomicU64::new(count),
            per_shard: self.cache.div_ceil(SHARDS),
            recheck: self.recheck,
            queues: Arc::new(queue::Queues::default()),
            in_flight: AtomicUsize::new(0),
            idle: tokio::sync::Notify::new(),
            closing: AtomicBool::new(false),
            keep_closed: self.keep_closed,
            calendars: self.calendars,
            hasher: foldhash::fast::RandomState::default(),
            write_failed: AtomicU64::new(0),
            started: std::time::Instant::now(),
        });
        let engine = Engine { inner };
        // Units made ready through another node wake this node's fetches.
        let queues = Arc::downgrade(&engine.inner.queues);
        engine
            .inner
            .store
            .on_ready(Arc::new(move |department: &str| {
                if let Some(q) = queues.upgrade() {
                    q.wake(department);
                }
            }));
        for b in engine.inner.store.bundles().await? {
            let (bp, _) = yijian_definitions::compile(&b.yaml, &engine.inner.check)
                .map_err(|diagnostics| EngineError::InvalidBundle { diagnostics })?;
            engine.register_blueprint(bp);
        }
        Ok(engine)
    }
}
