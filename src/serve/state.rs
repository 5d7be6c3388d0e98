//! [`AppState`]: what every handler shares — the engine, tokens, limits, the case index.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use yijian_engine::ids::Part;
use yijian_engine::store::Store;
use yijian_engine::view::CaseView;
use yijian_engine::{CaseNo, Engine, EngineError, TaskRef};

use super::auth::{Principal, Tokens};
use super::body::CaseBody;
use super::error::ApiError;
use super::index::{CaseIndex, Entry};
use super::metrics::Counters;
use super::task_id::TaskId;

/// Protection limits, parsed (see `LimitsConfig`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body in bytes.
    pub max_body: usize,
    /// Time limit of a request other than a long poll.
    pub request_timeout: Duration,
    /// Requests handled at once.
    pub max_in_flight: usize,
    /// Long polls waiting at once.
    pub max_waiters: usize,
    /// The longest `wait` of a fetch.
    pub max_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1 << 20,
            request_timeout: Duration::from_secs(30),
            max_in_flight: 1024,
            max_waiters: 1024,
            max_wait: Duration::from_secs(60),
        }
    }
}

/// The service's shared state; clones share it.
pub struct AppState<S: Store> {
    inner: Arc<Shared<S>>,
}

impl<S: Store> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            inner: self.inner.clone(),
        }
    }
}

impl<S: Store> std::fmt::Debug for AppState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("engine", &self.inner.engine)
            .field("tokens", &self.inner.tokens)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

struct Shared<S: Store> {
    engine: Engine<S>,
    offered_in: BTreeMap<String, Vec<String>>,
    tokens: Tokens,
    limits: Limits,
    index: CaseIndex,
    leases: BTreeMap<String, Duration>,
    webhooks: Vec<super::bindings::BoundWebhook>,
    answers: Answers,
    pub(crate) counters: Counters,
    requests: Arc<Semaphore>,
    waiters: Arc<Semaphore>,
    closing: watch::Sender<bool>,
    progress: super::public::limiter::Limiter,
    wrong_tokens: super::public::limiter::Limiter,
}

/// Builds an [`AppState`].
#[derive(Debug)]
pub struct AppStateBuilder<S: Store> {
    offered_in: BTreeMap<String, Vec<String>>,
    engine: Engine<S>,
    tokens: Tokens,
    limits: Limits,
    index: CaseIndex,
    leases: BTreeMap<String, Duration>,
    webhooks: Vec<super::bindings::BoundWebhook>,
}

impl<S: Store> AppStateBuilder<S> {
    /// Where bundles are offered (`offered_in` of the configuration).
    #[must_use]
    pub fn offered_in(mut self, offered_in: BTreeMap<String, Vec<String>>) -> Self {
        self.offered_in = offered_in;
        self
    }

    /// The webhooks the bindings made (their delivery figures go to `/metrics`).
    #[must_use]
    pub(crate) fn webhooks(mut self, webhooks: Vec<super::bindings::BoundWebhook>) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// The tokens (default: none — every call is refused with 401).
    #[must_use]
    pub fn tokens(mut self, tokens: Tokens) -> Self {
        self.tokens = tokens;
        self
    }

    /// The limits (default: [`Limits::default`]).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The case index (default: empty; pass one filled from the store's cases).
    #[must_use]
    pub fn index(mut self, index: CaseIndex) -> Self {
        self.index = index;
        self
    }

    /// The lease a fetch of `department` gets when it names none (default 5m).
    #[must_use]
    pub fn default_lease(mut self, department: impl Into<String>, lease: Duration) -> Self {
        self.leases.insert(department.into(), lease);
        self
    }

    /// The state.
    pub fn build(self) -> AppState<S> {
        let (closing, _) = watch::channel(false);
        AppState {
            inner: Arc::new(Shared {
                requests: Arc::new(Semaphore::new(self.limits.max_in_flight)),
                waiters: Arc::new(Semaphore::new(self.limits.max_waiters)),
                engine: self.engine,
                offered_in: self.offered_in,
                tokens: self.tokens,
                limits: self.limits,
                index: self.index,
                leases: self.leases,
                webhooks: self.webhooks,
                answers: Answers::default(),
                counters: Counters::default(),
                closing,
                progress: Default::default(),
                wrong_tokens: Default::default(),
            }),
        }
    }
}

/// A task call's target, resolved and checked.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub(crate) case_no: CaseNo,
    pub(crate) task: TaskRef,
    pub(crate) name: String,
    pub(crate) department: Arc<str>,
    pub(crate) entry: Entry,
}

impl Located {
    pub(crate) fn task_id(&self) -> String {
        TaskId::format(self.case_no.as_str(), &self.name)
    }
}

impl<S: Store + Clone> AppState<S> {
    /// A builder over an engine.
    pub fn builder(engine: Engine<S>) -> AppStateBuilder<S> {
        AppStateBuilder {
            engine,
            offered_in: BTreeMap::new(),
            tokens: Tokens::default(),
            limits: Limits::default(),
            index: CaseIndex::new(),
            leases: BTreeMap::new(),
            webhooks: Vec::new(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine<S> {
        &self.inner.engine
    }

    /// The tokens.
    pub fn tokens(&self) -> &Tokens {
        &self.inner.tokens
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The case index.
    pub fn index(&self) -> &CaseIndex {
        &self.inner.index
    }

    /// Whether `bundle` is offered for a case in `region` (`offered_in`).
    pub(crate) fn offered(&self, bundle: &str, region: &str) -> bool {
        self.inner
            .offered_in
            .get(bundle)
            .is_none_or(|prefixes| prefixes.iter().any(|p| region.starts_with(p.as_str())))
    }

    /// Whether `bundle` is offered somewhere in the subtree `region` (a window's list).
    pub(crate) fn offered_within(&self, bundle: &str, region: &str) -> bool {
        self.inner.offered_in.get(bundle).is_none_or(|prefixes| {
            prefixes
                .iter()
                .any(|p| region.starts_with(p.as_str()) || p.starts_with(region))
        })
    }

    /// Refuses (422 `not_offered`) a case of `bundle` in `region` where it is not offered.
    pub(crate) fn require_offered(&self, bundle: &str, region: &str) -> Result<(), ApiError> {
        if self.offered(bundle, region) {
            return Ok(());
        }
        let list = self
            .inner
            .offered_in
            .get(bundle)
            .map(|p| p.join(", "))
            .unwrap_or_default();
        Err(ApiError::Unprocessable {
            code: "not_offered",
            message: format!(
                "bundle `{bundle}` is not offered in region `{region}` (it is offered in: {list}); \
                 take the single items instead, or apply where it is offered"
            ),
            details: serde_json::Value::Null,
        })
    }

    pub(crate) fn token_limiter(&self) -> &super::public::limiter::Limiter {
        &self.inner.wrong_tokens
    }

    pub(crate) fn progress_limiter(&self) -> &super::public::limiter::Limiter {
        &self.inner.progress
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    pub(crate) fn webhooks(&self) -> &[super::bindings::BoundWebhook] {
        &self.inner.webhooks
    }

    pub(crate) fn requests(&self) -> &Arc<Semaphore> {
        &self.inner.requests
    }

    pub(crate) fn waiters(&self) -> &Arc<Semaphore> {
        &self.inner.waiters
    }

    pub(crate) fn default_lease(&self, department: &str) -> Duration {
        self.inner
            .leases
            .get(department)
            .copied()
            .unwrap_or(Duration::from_secs(300))
    }

    /// Stops long polls: waiting fetches answer at once with what they have.
    pub fn begin_shutdown(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Resolves when shutdown began.
    pub(crate) fn closing(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.closing.subscribe();
        async move {
            let _ = rx.wait_for(|c| *c).await;
        }
    }

    /// Runs an engine call to its end in its own task: a client that disconnects (or a
    /// request that times out) must not cut a command between its commit and its effects.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, EngineError>> + Send + 'static,
    ) -> Result<T, ApiError> {
        spawned(fut).await?.map_err(ApiError::from)
    }

    /// [`AppState::run`] for a command on case `case_no` written for the version the index
    /// holds: when the case was migrated meanwhile (`version_changed`), the index learns
    /// the new version, so the caller's next try reads the task names right.
    pub(crate) async fn run_case<T: Send + 'static>(
        &self,
        case_no: &CaseNo,
        fut: impl Future<Output = Result<T, EngineError>> + Send + 'static,
    ) -> Result<T, ApiError> {
        let out = spawned(fut).await?;
        if let Err(EngineError::Rejected(yijian_engine::Rejection::VersionChanged { .. })) = &out {
            self.view(case_no).await?;
        }
        out.map_err(ApiError::from)
    }

    /// A case's view, noted in the index.
    pub(crate) async fn view(&self, case_no: &CaseNo) -> Result<CaseView, ApiError> {
        let view = self.engine().case(case_no).await?;
        self.index().note(&view);
        Ok(view)
    }

    /// The index entry of a case, reading the case when the index does not know it.
    pub(crate) async fn entry(&self, case_no: &CaseNo) -> Result<Entry, ApiError> {
        if let Some(e) = self.index().get(case_no) {
            return Ok(e);
        }
        self.view(case_no).await?;
        self.index()
            .get(case_no)
            .ok_or_else(|| ApiError::internal("a case read was not indexed"))
    }

    /// Resolves a task id to its unit and department, without checking who asks.
    pub(crate) async fn resolve(&self, id: &TaskId) -> Result<Located, ApiError> {
        let entry = self.entry(&id.case_no).await?;
        let bp = self
            .engine()
            .blueprint(&entry.bundle, Some(entry.version))
            .ok_or_else(|| ApiError::internal("the case's bundle is not loaded"))?;
        let unknown = || {
            ApiError::not_found(
                "unknown_task",
                format!("no task `{}` in case {}", id.name, id.case_no),
            )
        };
        let task = TaskRef::parse(&bp, &id.name).ok_or_else(unknown)?;
        let name = task.name(&bp);
        let department = match task.part {
            Part::Rectification => {
                let view = self.view(&id.case_no).await?;
                Arc::from(view.task(&name).ok_or_else(unknown)?.department.as_str())
            }
            _ => bp
                .tasks
                .get(task.task.index())
                .map(|t| t.department.clone())
                .ok_or_else(unknown)?,
        };
        Ok(Located {
            case_no: id.case_no.clone(),
            task,
            name,
            department,
            entry,
        })
    }

    /// Resolves a task id for a department token: its own department, within its region;
    /// 403 before anything is touched otherwise.
    pub(crate) async fn locate(
        &self,
        caller: &Principal,
        id: &TaskId,
    ) -> Result<Located, ApiError> {
        let located = self.resolve(id).await?;
        caller.require_department(&located.department)?;
        if let Err(outside) = caller.require_region(&located.entry.region) {
            // A unit reassigned (改派) into the caller's region from a case handled
            // elsewhere: the case says where it went. (The engine refuses the reverse, a
            // unit reassigned away, from the command's scope.)
            let view = self.view(&located.case_no).await?;
            let moved_here = view
                .task(&located.name)
                .and_then(|t| t.region.as_deref())
                .is_some_and(|r| caller.sees_region(r));
            if !moved_here {
                return Err(outside);
            }
        }
        Ok(located)
    }

    pub(crate) fn remembered(&self, key: &str) -> Option<CaseBody> {
        self.inner.answers.get(key)
    }

    pub(crate) fn remember(&self, key: String, body: &CaseBody) {
        self.inner.answers.put(key, body.clone());
    }
}

/// First answers to idempotent creations, by key: the fast path (bounded; after a restart,
/// or once forgotten, the engine answers a repeat with the case as its creation left it,
/// replayed from the store).
#[derive(Default)]
struct Answers {
    // std Mutex: a map lookup or insert, never across an await.
    map: Mutex<HashMap<String, CaseBody>>,
}

const MAX_ANSWERS: usize = 100_000;

impl Answers {
    fn get(&self, key: &str) -> Option<CaseBody> {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn put(&self, key: String, body: CaseBody) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ANSWERS {
            map.clear();
        }
        map.entry(key).or_insert(body);
    }
}

/// Runs an engine call on a task of its own (a dropped request does not cut a commit short).
async fn spawned<T: Send + 'static>(
    fut: impl Future<Output = Result<T, EngineError>> + Send + 'static,
) -> Result<Result<T, EngineError>, ApiError> {
    tokio::spawn(fut)
        .await
        .map_err(|e| ApiError::internal(format!("an engine call failed: {e}")))
}
