//! The in-memory store: for tests, simulation and speed measurements. Nothing survives the
//! process.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::ops::Bound;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;

mod work;

use super::{
    BlueprintStore, Board, CasePage, CaseQuery, CaseStore, CaseSummary, Claimed, Commit, Deployed,
    DeployedBundle, EventLog, Gauges, KeyedCase, QueueDepth, ReadyClaim, Result, StoreError,
    WorkStore,
};
use crate::event::Event;
use crate::ids::CaseNo;

#[derive(Debug, Default)]
struct Inner {
    cases: HashMap<CaseNo, (CaseSummary, Vec<Event>), foldhash::fast::RandomState>,
    refusals: super::Refusals,
}

const SHARDS: usize = 16;

/// The in-memory store; clones share the same data.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    // std Mutexes: every operation is a short map update with no await inside. Cases are
    // sharded so concurrent commits of different cases rarely wait for each other.
    shards: Arc<[Mutex<Inner>]>,
    bundles: Arc<Mutex<BTreeMap<(String, u32), DeployedBundle>>>,
    // Idempotency keys are global (one case per key), with the creating commit's event
    // count; taken after a case shard, never before.
    keys: Arc<Mutex<HashMap<String, KeyedCase>>>,
    // Every case in creation order (creation time: its first event's; then case number).
    // Taken after a case shard, never before.
    created: Arc<Mutex<BTreeSet<Created>>>,
    // Task rows and timers; taken after a case shard, never before.
    work: Arc<Mutex<work::Work>>,
    hasher: foldhash::fast::RandomState,
}

/// A case's place in creation order.
type Created = (Option<Timestamp>, CaseNo);

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Inner::default())).collect(),
            bundles: Arc::default(),
            keys: Arc::default(),
            created: Arc::default(),
            work: Arc::default(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn shard<K: std::hash::Hash + ?Sized>(&self, key: &K) -> &Mutex<Inner> {
        use std::hash::BuildHasher;
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    fn with<T>(&self, case_no: &CaseNo, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self
            .shard(case_no)
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }

    fn each<T>(&self, mut f: impl FnMut(&mut Inner) -> Option<T>) -> Option<T> {
        for shard in self.shards.iter() {
            if let Some(t) = f(&mut shard.lock().unwrap_or_else(PoisonError::into_inner)) {
                return Some(t);
            }
        }
        None
    }

    fn work<T>(&self, f: impl FnOnce(&mut work::Work) -> T) -> T {
        f(&mut self.work.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn summary(&self, no: &CaseNo) -> Option<CaseSummary> {
        self.with(no, |inner| inner.cases.get(no).map(|(s, _)| s.clone()))
    }

    fn bundles_with<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<(String, u32), DeployedBundle>) -> T,
    ) -> T {
        f(&mut self.bundles.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl EventLog for MemoryStore {
    fn append(&self, commit: Commit) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        // Applied at call time, as the contract asks; the future only reports the result.
        let result = self.with(&commit.case_no.clone(), |inner| {
            let no = commit.case_no.as_str();
            let entry = inner.cases.get_mut(&commit.case_no);
            let found = entry.as_ref().map_or(0, |(s, _)| s.event_count);
            if found != commit.expected_version
                || inner
                    .refusals
                    .blocks(no, commit.lineage, commit.expected_version)
            {
                inner
                    .refusals
                    .refused(no, commit.lineage, commit.expected_version);
                return Err(StoreError::Conflict {
                    case_no: commit.case_no.clone(),
                    expected: commit.expected_version,
                    found,
                });
            }
            match entry {
                Some((summary, events)) => {
                    self.work(|w| {
                        w.remove(&commit.case_no, &commit.removed_tasks);
                        w.write(&commit.summary, &commit.tasks);
                    });
                    events.extend(commit.events);
                    *summary = commit.summary;
                }
                None => {
                    if let Some(key) = &commit.idempotency_key {
                        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
                        if keys.contains_key(key) {
                            // One case per key: a second case with it is refused, unwritten.
                            return Err(StoreError::Conflict {
                                case_no: commit.case_no.clone(),
                                expected: 0,
                                found: 1,
                            });
                        }
                        keys.insert(
                            key.clone(),
                            KeyedCase {
                                case_no: commit.case_no.clone(),
                                created_events: Some(commit.events.len() as u64),
                            },
                        );
                    }
                    self.created
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert((commit.events.first().map(|e| e.at), commit.case_no.clone()));
                    self.work(|w| w.write(&commit.summary, &commit.tasks));
                    inner
                        .cases
                        .insert(commit.case_no.clone(), (commit.summary, commit.events));
                }
            }
            Ok(())
        });
        std::future::ready(result)
    }

    async fn read(&self, case_no: &CaseNo) -> Result<Option<(CaseSummary, Vec<Event>)>> {
        Ok(self.with(case_no, |inner| inner.cases.get(case_no).cloned()))
    }
}

impl CaseStore for MemoryStore {
    async fn case_for_key(&self, key: &str) -> Result<Option<KeyedCase>> {
        Ok(self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned())
    }

    async fn open_cases(&self) -> Result<Vec<CaseSummary>> {
        let mut out = Vec::new();
        self.each::<()>(|inner| {
            out.extend(
                inner
                    .cases
                    .values()
                    .filter(|(s, _)| !s.closed)
                    .map(|(s, _)| s.clone()),
            );
            None
        });
        Ok(out)
    }

    async fn cases(&self, after: Option<&CaseNo>, limit: usize) -> Result<Vec<CaseSummary>> {
        let from = match after {
            Some(no) => {
                let Some(at) = self.with(no, |inner| {
                    inner
                        .cases
                        .get(no)
                        .map(|(_, events)| events.first().map(|e| e.at))
                }) else {
                    return Ok(Vec::new());
                };
                Some((at, no.clone()))
            }
            None => None,
        };
        let page: Vec<CaseNo> = {
            let created = self.created.lock().unwrap_or_else(PoisonError::into_inner);
            let start = from.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
            created
                .range::<Created, _>((start, Bound::Unbounded))
                .take(limit)
                .map(|(_, no)| no.clone())
                .collect()
        };
        // Cases are never removed: each one listed is there.
        Ok(page
            .iter()
            .filter_map(|no| self.with(no, |inner| inner.cases.get(no).map(|(s, _)| s.clone())))
            .collect())
    }

    async fn case_count(&self) -> Result<u64> {
        let mut n = 0;
        self.each::<()>(|inner| {
            n += inner.cases.len() as u64;
            None
        });
        Ok(n)
    }
}

impl WorkStore for MemoryStore {
    async fn claim_ready(&self, claim: &ReadyClaim) -> Result<Vec<Claimed>> {
        Ok(self.work(|w| w.claim_ready(claim)))
    }

    async fn claim_timers(
        &self,
        now: Timestamp,
        hold_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<(CaseNo, Timestamp)>> {
        Ok(self.work(|w| w.claim_timers(now, hold_until, limit)))
    }

    async fn next_timer(&self) -> Result<Option<Timestamp>> {
        Ok(self.work(|w| w.next_timer()))
    }

    async fn queue_depths(&self, now: Timestamp) -> Result<Vec<QueueDepth>> {
        Ok(self.work(|w| w.depths(now)))
    }

    async fn dispatched(
        &self,
        departments: &[String],
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Claimed>> {
        Ok(self.work(|w| w.dispatched(departments, now, limit)))
    }

    async fn version(&self, case_no: &CaseNo) -> Result<Option<u64>> {
        Ok(self.summary(case_no).map(|s| s.event_count))
    }

    async fn search(&self, q: &CaseQuery) -> Result<CasePage> {
        // Newest first: creation order reversed. A scan: tests and embedding only.
        let order: Vec<Created> = self
            .created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .rev()
            .cloned()
            .collect();
        let start = match &q.before {
            Some(b) => match order.iter().position(|(_, no)| no == b) {
                Some(i) => i + 1,
                None => return Ok(CasePage::default()),
            },
            None => 0,
        };
        let mut page = CasePage::default();
        let mut total = 0u64;
        let mut skipped = 0;
        for (_, no) in &order[start..] {
            let Some(s) = self.summary(no) else { continue };
            if !matches(q, &s, |dep, state, kind| {
                self.work(|w| {
                    w.units_of(no).any(|(d, st, k)| {
                        dep.is_none_or(|x| x == d)
                            && state.is_none_or(|x| x == st)
                            && kind.is_none_or(|x| x == k)
                    })
                })
            }) {
                continue;
            }
            total += 1;
            if skipped < q.offset {
                skipped += 1;
            } else if page.cases.len() < q.limit {
                page.cases.push(s);
            } else if !q.count {
                break;
            }
        }
        page.total = q.count.then_some(total.min(CaseQuery::MAX_COUNT));
        Ok(page)
    }

    async fn gauges(&self) -> Result<Gauges> {
        let mut all = Vec::new();
        self.each::<()>(|inner| {
            all.extend(inner.cases.values().map(|(s, _)| s.clone()));
            None
        });
        let mut cases: BTreeMap<String, u64> = BTreeMap::new();
        let mut channels: BTreeMap<String, u64> = BTreeMap::new();
        for s in &all {
            *cases.entry(s.status.to_string()).or_default() += 1;
            *channels
                .entry(s.channel.as_deref().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        Ok(Gauges {
            cases: cases.into_iter().collect(),
            channels: channels.into_iter().collect(),
            tasks: self.work(|w| w.task_counts()),
            warnings: work::warnings(all.iter().filter(|s| !s.closed)),
        })
    }

    async fn board(&self, region: &str) -> Result<Board> {
        let mut open = Vec::new();
        self.each::<()>(|inner| {
            open.extend(
                inner
                    .cases
                    .values()
                    .map(|(s, _)| s)
                    .filter(|s| !s.closed && s.region.starts_with(region))
                    .cloned(),
            );
            None
        });
        Ok(Board {
            cases: work::warnings(open.iter())
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect(),
            tasks: self.work(|w| w.warned(region)),
        })
    }
}

/// Whether a case matches a query; `has(department, state, kind)` answers for its units.
pub(crate) fn matches(
    q: &CaseQuery,
    s: &CaseSummary,
    has: impl FnOnce(Option<&str>, Option<crate::case::UnitStatus>, Option<&str>) -> bool,
) -> bool {
    q.region.as_deref().is_none_or(|r| s.region.starts_with(r))
        && q.bundle.as_deref().is_none_or(|b| b == &*s.bundle)
        && q.status.as_deref().is_none_or(|st| st == s.status)
        && q.warning.is_none_or(|w| !s.closed && w == s.warning)
        && q.channel
            .as_deref()
            .is_none_or(|c| s.channel.as_deref() == Some(c))
        && (q.department.is_none() && q.task_state.is_none() && q.task_kind.is_none()
            || has(
                q.department.as_deref(),
                q.task_state,
                q.task_kind.as_deref(),
            ))
}

impl BlueprintStore for MemoryStore {
    async fn deploy(&self, bundle: DeployedBundle) -> Result<Deployed> {
        self.bundles_with(|bundles| {
            let key = (bundle.id.clone(), bundle.version);
            match bundles.get(&key) {
                Some(existing) if existing.hash == bundle.hash => Ok(Deployed::Unchanged),
                Some(_) => Err(StoreError::BundleExists {
                    id: bundle.id,
                    version: bundle.version,
                }),
                None => {
                    bundles.insert(key, bundle);
                    Ok(Deployed::Created)
                }
            }
        })
    }

    async fn bundle(&self, id: &str, version: u32) -> Result<Option<DeployedBundle>> {
        Ok(self.bundles_with(|b| b.get(&(id.to_owned(), version)).cloned()))
    }

    async fn bundles(&self) -> Result<Vec<DeployedBundle>> {
        Ok(self.bundles_with(|b| b.values().cloned().collect()))
    }
}
