//! The service's case cache: which bundle version and region a case has, so that a task
//! call can be routed and authorised without reading the case.
//!
//! Both never change once a case exists, so a cached entry is never stale, whichever node
//! wrote the case; a case not cached is read from the store once. The cache is bounded
//! (it starts again empty past [`CaseIndex::MAX`] cases): searches, listings, incidents
//! and gauges are the store's (SQL over indexed columns), not this cache's.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use yijian_engine::CaseNo;
use yijian_engine::view::CaseView;

/// What the cache knows of a case.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Bundle id.
    pub(crate) bundle: Arc<str>,
    /// Bundle version.
    pub(crate) version: u32,
    /// 区划代码.
    pub(crate) region: Arc<str>,
}

/// The cache; clones share it.
#[derive(Debug, Clone, Default)]
pub struct CaseIndex {
    // std RwLock: map reads and single inserts, never held across an await.
    inner: Arc<RwLock<HashMap<CaseNo, Entry>>>,
}

impl CaseIndex {
    /// Most cases cached.
    pub const MAX: usize = 200_000;

    /// An empty cache.
    pub fn new() -> CaseIndex {
        CaseIndex::default()
    }

    /// Adds a case. A known case keeps its entry — bundle and region never change — but
    /// for the bundle version, which a migration moves on.
    pub fn insert(&self, case_no: &CaseNo, bundle: &str, version: u32, region: &str) {
        if self.get(case_no).is_some_and(|e| e.version == version) {
            return;
        }
        let mut map = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = map.get_mut(case_no) {
            e.version = version;
            return;
        }
        if map.len() >= CaseIndex::MAX {
            map.clear();
        }
        map.insert(
            case_no.clone(),
            Entry {
                bundle: Arc::from(bundle),
                version,
                region: Arc::from(region),
            },
        );
    }

    /// Records the case a view shows.
    pub fn note(&self, v: &CaseView) {
        self.insert(&v.case_no, &v.bundle, v.version, &v.region);
    }

    /// A case's entry.
    pub(crate) fn get(&self, case_no: &CaseNo) -> Option<Entry> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(case_no)
            .cloned()
    }

    /// A case's region, if cached.
    pub fn region(&self, case_no: &CaseNo) -> Option<Arc<str>> {
        self.get(case_no).map(|e| e.region)
    }

    /// How many cases are cached.
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Caches no case.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_keeps_a_known_case_but_learns_its_new_version() {
        let index = CaseIndex::new();
        let a = CaseNo::new("a");
        index.insert(&a, "x", 1, "3201");
        index.insert(&a, "y", 1, "");
        assert_eq!(index.len(), 1);
        assert_eq!(index.region(&a).as_deref(), Some("3201"));
        assert_eq!(
            index.get(&a).map(|e| (e.bundle, e.version)),
            Some((Arc::from("x"), 1))
        );
        // Migrated: the version moves on, bundle and region stay.
        index.insert(&a, "y", 2, "");
        assert_eq!(
            index.get(&a).map(|e| (e.bundle, e.version)),
            Some((Arc::from("x"), 2))
        );
        assert_eq!(index.region(&a).as_deref(), Some("3201"));
    }
}
