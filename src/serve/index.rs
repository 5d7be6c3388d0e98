//! The service's case index: which cases exist, of which bundle and region, in creation
//! order — for search, incidents, metrics and routing task calls without reading a case.
//!
//! The engine holds the truth; the index only knows where to look. At start it is filled
//! with every case of the store, in creation order (the store's: by the time of the case's
//! first event, then by case number), then by the submissions and proposals made through
//! this process. A closed case's row is cached once seen closed (a closed case leaves the
//! engine's memory, and reading it back replays its events); a case already closed at
//! start keeps the status its store summary gave, so a search by status or bundle need not
//! read it.

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
    /// The status of a case already closed at start, from its store summary (a closed
    /// case's status no longer changes).
    pub(crate) closed_status: Option<Arc<str>>,
}

impl Entry {
    /// The case's status when it is known without reading the case: a closed case's.
    pub(crate) fn settled_status(&self) -> Option<&str> {
        match &self.closed {
            Some(row) => Some(&row.status),
            None => self.closed_status.as_deref(),
        }
    }

    /// Closed when last seen (or at start)?
    pub(crate) fn is_closed(&self) -> bool {
        self.settled_status().is_some()
    }
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

    /// Adds a case from its store summary (at start; give them in creation order), with
    /// its status when it is closed.
    pub fn insert_summary(&self, s: &CaseSummary) {
        let closed_status = s.closed.then(|| Arc::from(&*s.status));
        self.insert_with(&s.case_no, &s.bundle, s.version, &s.region, closed_status);
    }

    /// Adds a case (no-op when known).
    pub fn insert(&self, case_no: &CaseNo, bundle: &str, version: u32, region: &str) {
        self.insert_with(case_no, bundle, version, region, None);
    }

    fn insert_with(
        &self,
        case_no: &CaseNo,
        bundle: &str,
        version: u32,
        region: &str,
        closed_status: Option<Arc<str>>,
    ) {
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
                closed_status,
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

    #[test]
    fn a_summary_closed_at_start_settles_the_status() {
        let index = CaseIndex::new();
        let summary = |no: &str, status: &'static str, closed| CaseSummary {
            case_no: CaseNo::new(no),
            bundle: "x".into(),
            version: 1,
            region: "".into(),
            status: status.into(),
            closed,
            event_count: 3,
            accepted_at: None,
            next_timer: None,
            warning: Default::default(),
            due: None,
        };
        index.insert_summary(&summary("open", "running", false));
        index.insert_summary(&summary("done", "withdrawn", true));
        let all = index.newest_first();
        assert_eq!(all[0].0.as_str(), "done");
        assert_eq!(all[0].1.settled_status(), Some("withdrawn"));
        assert!(all[0].1.is_closed());
        assert_eq!(
            all[1].1.settled_status(),
            None,
            "an open case's status is read"
        );
    }
}
