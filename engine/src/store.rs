//! Storage: narrow traits per concern, and the in-memory store.
//!
//! The store is the truth: every node of a cluster reads cases, queues and timers from it
//! and may cache cases, never decide from its cache alone. The runtime writes through it. A command's events
//! and the case's new summary are handed to [`EventLog::append`] as one [`Commit`]; a
//! durable store writes them in one transaction, and is free to group many cases' commits
//! into one transaction (group commit). Nothing is acknowledged before its commit.

pub mod memory;
mod refused;
mod stats;
mod work;

use std::future::Future;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::ids::CaseNo;

pub use refused::Refusals;
pub use stats::CommitStats;
pub use work::{
    Board, CasePage, CaseQuery, Claimed, Gauges, QueueDepth, ReadyClaim, ReadyHook, TaskLease,
    TaskRow, WorkStore,
};

/// Why the store could not do something. What the caller must decide is in the variant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another writer changed the case first (its version moved on): reload and retry.
    #[error("case {case_no} was changed concurrently (expected version {expected}, found {found})")]
    Conflict {
        /// The case.
        case_no: CaseNo,
        /// The version the writer started from.
        expected: u64,
        /// The version in the store.
        found: u64,
    },
    /// id+version already deployed with other content.
    #[error("bundle {id} version {version} is already deployed with other content")]
    BundleExists {
        /// Bundle id.
        id: String,
        /// Version.
        version: u32,
    },
    /// The store is unreachable or failed; retrying later may help.
    #[error("the store is unavailable: {message}")]
    Unavailable {
        /// What the database said.
        message: String,
    },
    /// Stored data could not be read back (corruption, or a newer format).
    #[error("stored data is corrupt: {message}")]
    Corrupt {
        /// What is wrong, and where.
        message: String,
    },
}

/// `Result` with a [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One case's change: its new events and summary, written together.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The case.
    pub case_no: CaseNo,
    /// The version the events were decided on (0 for a new case).
    pub expected_version: u64,
    /// The line of descent of the state the events were decided on
    /// ([`crate::CaseState::lineage`]); 0 for a commit decided on nothing held in memory.
    /// Commits of one case with the same non-zero lineage were each decided on top of the
    /// one before: once the store refuses one, it refuses the later ones too.
    pub lineage: u64,
    /// The events, in order.
    pub events: Vec<Event>,
    /// The case's summary after them.
    pub summary: CaseSummary,
    /// The idempotency key of the submission that created the case.
    pub idempotency_key: Option<String>,
    /// The rows of the units this commit changed (of every unit, for a new case): written
    /// in the same transaction (see [`WorkStore`]).
    pub tasks: Vec<TaskRow>,
    /// Units whose rows go: a migration renumbered the case's tasks and these are no
    /// longer among them (deleted before `tasks` are written). Empty otherwise.
    pub removed_tasks: Vec<crate::ids::TaskRef>,
}

/// What a case is, in a line: for searches, recovery and listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// The case.
    pub case_no: CaseNo,
    /// Bundle id.
    pub bundle: Arc<str>,
    /// Bundle version.
    pub version: u32,
    /// Region code.
    pub region: Arc<str>,
    /// Status as shown (`running`, `awaiting_supplement`, or the outcome).
    pub status: std::borrow::Cow<'static, str>,
    /// Closed?
    pub closed: bool,
    /// Number of events.
    pub event_count: u64,
    /// Accepted at.
    pub accepted_at: Option<Timestamp>,
    /// When the case's next timer is due (deadline warnings, lease expiry, retries, 容缺
    /// and supplement due dates, verification deadlines); `None` when none is pending.
    #[serde(default)]
    pub next_timer: Option<Timestamp>,
    /// The case's warning level.
    #[serde(default)]
    pub warning: crate::case::Warning,
    /// The case's promised due time.
    #[serde(default)]
    pub due: Option<Timestamp>,
    /// The channel that took the application (`window`, `portal`…), when recorded.
    #[serde(default)]
    pub channel: Option<Arc<str>>,
}

/// The case a keyed submission created, as [`CaseStore::case_for_key`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedCase {
    /// The case.
    pub case_no: CaseNo,
    /// How many events the case's first commit (the one that created it, carrying the key)
    /// had: replaying that many of its events gives the case as its submission left it.
    /// `None` when the store did not record it (a case created before it kept the count).
    pub created_events: Option<u64>,
}

/// A deployed bundle version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployedBundle {
    /// Bundle id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// The YAML text as deployed.
    pub yaml: String,
    /// SHA-256 of the text, hex.
    pub hash: String,
}

/// What a deploy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deployed {
    /// New id+version.
    Created,
    /// The same content was already deployed.
    Unchanged,
}

/// The append-only event log and case summaries.
///
/// # Contract
/// - `append` orders commits at call time: commits of one case reach the store in the
///   order `append` was called, even though the futures resolve later. The runtime calls it
///   while holding the case, so a case's commits never race each other.
/// - The future resolves `Ok` only once the events and summary are durable, together.
/// - `expected_version` must equal the stored event count; otherwise `Conflict`, nothing
///   written.
/// - Once a commit is refused with `Conflict`, every later commit of the same case with the
///   same non-zero `lineage` and a higher `expected_version` is refused with `Conflict` as
///   well, even when its version matches: it was decided on top of the refused one, and a
///   version reached by another node's events is not the state it was decided on. (A
///   store may refuse a little more — a refusal is a retry for the engine — never less.)
pub trait EventLog: Send + Sync + 'static {
    /// Appends one case's events and summary; see the contract.
    fn append(
        &self,
        commit: Commit,
    ) -> impl Future<Output = Result<()>> + Send + 'static + use<Self>;

    /// A case's events, oldest first, with its summary; `None` if unknown.
    fn read(
        &self,
        case_no: &CaseNo,
    ) -> impl Future<Output = Result<Option<(CaseSummary, Vec<Event>)>>> + Send;

    /// How commits were grouped into transactions so far, for metrics; `None` (the
    /// default) when the store does not group commits or does not count them.
    fn commit_stats(&self) -> Option<CommitStats> {
        None
    }
}

/// Case lookups.
///
/// # Contract
/// - A case's **creation** is its first commit (`expected_version == 0`); the store keeps
///   that commit's event count, and the creation time: the `at` of its first event.
/// - [`CaseStore::cases`] lists every case, open or closed, in creation order: by creation
///   time, then by case number (a case created without events comes first).
pub trait CaseStore: Send + Sync + 'static {
    /// The case created by a submission with this idempotency key, with its creating
    /// commit's event count.
    fn case_for_key(&self, key: &str) -> impl Future<Output = Result<Option<KeyedCase>>> + Send;

    /// Every case that is not closed (for recovery).
    fn open_cases(&self) -> impl Future<Output = Result<Vec<CaseSummary>>> + Send;

    /// Up to `limit` case summaries in creation order (see the contract), starting after
    /// the case `after` (the last of the previous page), or from the first case when
    /// `None`. A page shorter than `limit` is the last; an unknown `after` gives an empty
    /// page.
    fn cases(
        &self,
        after: Option<&CaseNo>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<CaseSummary>>> + Send;

    /// The highest case sequence number issued so far (case numbers continue after it).
    fn case_count(&self) -> impl Future<Output = Result<u64>> + Send;
}

/// Deployed bundle versions.
///
/// # Contract
/// id+version is immutable: deploying it again with the same content is `Unchanged`, with
/// other content `BundleExists`.
pub trait BlueprintStore: Send + Sync + 'static {
    /// Deploys a bundle version.
    fn deploy(&self, bundle: DeployedBundle) -> impl Future<Output = Result<Deployed>> + Send;

    /// One version.
    fn bundle(
        &self,
        id: &str,
        version: u32,
    ) -> impl Future<Output = Result<Option<DeployedBundle>>> + Send;

    /// Every deployed version, by id then version.
    fn bundles(&self) -> impl Future<Output = Result<Vec<DeployedBundle>>> + Send;
}

/// Everything the runtime needs from a store.
pub trait Store: EventLog + CaseStore + BlueprintStore + WorkStore {}

impl<T: EventLog + CaseStore + BlueprintStore + WorkStore> Store for T {}
