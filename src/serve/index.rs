//! The service's case index: which cases exist, of which bundle and region, in creation
//! order — for search, incidents, metrics and routing task calls without reading a case.
//!
//! The engine holds the truth; the index only knows where to look. It is filled by
//! submissions and proposals made through this process and, at start, by the store's open
//! cases. A closed case's row is cached once seen closed (a closed case leaves the
//! engine's memory, and reading it back replays its events).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use yijian_engine::CaseNo;
use yijian_engine::store::CaseSummary;
use yijian_engine::view::CaseView;

/// One case in the index.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Bundle id.
    pub(crate) bundle: Arc<str>,
    /// Bundle version.
    pub(crate) version: u32,
    /// 区划代码.
    pub(crate) region: Arc<str>,
    /// The row, once the case was seen closed.
    pub(crate) closed: Option<Arc<Row>>,
}

/// What search and metrics need of a case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// Status as shown.
    pub(crate) status: String,
    /// Warning level.
    pub(crate) warning: &'static str,
    /// The bundle's deadline, RFC 3339.
    pub(crate) deadline: Option<String>,
    /// `(department, task status)` of every unit.
    pub(crate) tasks: Vec<(String, &'static str)>,
    /// Closed?
    pub(crate) closed: bool,
}

impl Row {
    /// The row of a case view.
    pub(crate) fn of(v: &CaseView) -> Row {
        Row {
            status: v.status.clone(),
            warning: v.warning.as_str(),
            deadline: v.due.map(|t| t.to_string()),
            tasks: v
                .tasks
                .iter()
                .map(|t| (t.department.clone(), t.status.as_str()))
                .collect(),
            closed: v.outcome.is_some(),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    order: Vec<CaseNo>,
    entries: HashMap<CaseNo, Entry>,
}

/// The index; clones share it.
#[derive(Debug, Clone, Default)]
pub struct CaseIndex {
    // std RwLock: map reads and single inserts, never held across an await.
    inner: Arc<RwLock<Inner>>,
}

impl CaseIndex {
    /// An empty index.
    pub fn new() -> CaseIndex {
        CaseIndex::default()
    }

    /// Adds a case from its store summary (at start).
    pub fn insert_summary(&self, s: &CaseSummary) {
        self.insert(&s.case_no, &s.bundle, s.version, &s.region);
    }

    /// Adds a case (no-op when known).
    pub fn insert(&self, case_no: &CaseNo, bundle: &str, version: u32, region: &str) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if inner.entries.contains_key(case_no) {
            return;
        }
        inner.order.push(case_no.clone());
        inner.entries.insert(
            case_no.clone(),
            Entry {
                bundle: Arc::from(bundle),
                version,
                region: Arc::from(region),
                closed: None,
            },
        );
    }

    /// Records what a view shows: adds the case, caches its row once closed.
    pub fn note(&self, v: &CaseView) {
        self.insert(&v.case_no, &v.bundle, v.version, &v.region);
        if v.outcome.is_some() {
            let row = Arc::new(Row::of(v));
            let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
            if let Some(e) = inner.entries.get_mut(&v.case_no) {
                e.closed = Some(row);
            }
        }
    }

    /// A case's entry.
    pub(crate) fn get(&self, case_no: &CaseNo) -> Option<Entry> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .get(case_no)
            .cloned()
    }

    /// A case's region, if known.
    pub fn region(&self, case_no: &CaseNo) -> Option<Arc<str>> {
        self.get(case_no).map(|e| e.region)
    }

    /// Every case, newest first.
    pub(crate) fn newest_first(&self) -> Vec<(CaseNo, Entry)> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner
            .order
            .iter()
            .rev()
            .filter_map(|no| inner.entries.get(no).map(|e| (no.clone(), e.clone())))
            .collect()
    }

    /// How many cases it knows.
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .order
            .len()
    }

    /// Knows no case.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_is_idempotent_and_ordered() {
        let index = CaseIndex::new();
        let a = CaseNo::new("a");
        let b = CaseNo::new("b");
        index.insert(&a, "x", 1, "3201");
        index.insert(&b, "x", 1, "");
        index.insert(&a, "y", 2, "");
        assert_eq!(index.len(), 2);
        let all = index.newest_first();
        assert_eq!(all[0].0, b);
        assert_eq!(&*all[1].1.bundle, "x");
        assert_eq!(index.region(&a).as_deref(), Some("3201"));
    }
}
