//! The in-memory store: for tests, simulation and speed measurements. Nothing survives the
//! process.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use super::{
    BlueprintStore, CaseStore, CaseSummary, Commit, Deployed, DeployedBundle, EventLog, Result,
    StoreError,
};
use crate::event::Event;
use crate::ids::CaseNo;

#[derive(Debug, Default)]
struct Inner {
    cases: HashMap<CaseNo, (CaseSummary, Vec<Event>)>,
    keys: HashMap<String, CaseNo>,
    bundles: BTreeMap<(String, u32), DeployedBundle>,
}

/// The in-memory store; clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    // std Mutex: every operation is a short map update with no await inside.
    inner: Arc<Mutex<Inner>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl EventLog for MemoryStore {
    fn append(&self, commit: Commit) -> impl Future<Output = Result<()>> + Send + 'static {
        // Applied at call time, as the contract asks; the future only reports the result.
        let result = self.with(|inner| {
            let entry = inner.cases.get_mut(&commit.case_no);
            let found = entry.as_ref().map_or(0, |(s, _)| s.event_count);
            if found != commit.expected_version {
                return Err(StoreError::Conflict {
                    case_no: commit.case_no.clone(),
                    expected: commit.expected_version,
                    found,
                });
            }
            match entry {
                Some((summary, events)) => {
                    events.extend(commit.events);
                    *summary = commit.summary;
                }
                None => {
                    if let Some(key) = &commit.idempotency_key {
                        inner.keys.insert(key.clone(), commit.case_no.clone());
                    }
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
        Ok(self.with(|inner| inner.cases.get(case_no).cloned()))
    }
}

impl CaseStore for MemoryStore {
    async fn case_for_key(&self, key: &str) -> Result<Option<CaseNo>> {
        Ok(self.with(|inner| inner.keys.get(key).cloned()))
    }

    async fn open_cases(&self) -> Result<Vec<CaseSummary>> {
        Ok(self.with(|inner| {
            inner
                .cases
                .values()
                .filter(|(s, _)| !s.closed)
                .map(|(s, _)| s.clone())
                .collect()
        }))
    }

    async fn case_count(&self) -> Result<u64> {
        Ok(self.with(|inner| inner.cases.len() as u64))
    }
}

impl BlueprintStore for MemoryStore {
    async fn deploy(&self, bundle: DeployedBundle) -> Result<Deployed> {
        self.with(|inner| {
            let key = (bundle.id.clone(), bundle.version);
            match inner.bundles.get(&key) {
                Some(existing) if existing.hash == bundle.hash => Ok(Deployed::Unchanged),
                Some(_) => Err(StoreError::BundleExists {
                    id: bundle.id,
                    version: bundle.version,
                }),
                None => {
                    inner.bundles.insert(key, bundle);
                    Ok(Deployed::Created)
                }
            }
        })
    }

    async fn bundle(&self, id: &str, version: u32) -> Result<Option<DeployedBundle>> {
        Ok(self.with(|inner| inner.bundles.get(&(id.to_owned(), version)).cloned()))
    }

    async fn bundles(&self) -> Result<Vec<DeployedBundle>> {
        Ok(self.with(|inner| inner.bundles.values().cloned().collect()))
    }
}
