//! The in-memory store's task rows, timers and claims (see [`crate::store::WorkStore`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use jiff::Timestamp;

use crate::case::{UnitStatus, Warning};
use crate::ids::{CaseNo, TaskRef};
use crate::store::{CaseSummary, Claimed, QueueDepth, ReadyClaim, TaskRow};

/// One unit's row, with its case's region and a claim's hold.
#[derive(Debug, Clone)]
struct Row {
    row: TaskRow,
    region: Arc<str>,
    held_until: Option<Timestamp>,
}

type Key = (CaseNo, TaskRef);

/// Every unit's row and every case's timer.
#[derive(Debug, Default)]
pub(super) struct Work {
    rows: HashMap<Key, Row, foldhash::fast::RandomState>,
    /// Rows with `ready_at`, per department, oldest first.
    ready: HashMap<Arc<str>, BTreeSet<(Timestamp, CaseNo, TaskRef)>>,
    /// Each case's timer, ordered by time.
    timers: BTreeSet<(Timestamp, CaseNo)>,
    /// Each case's timer and the claim on it.
    timer_of: HashMap<CaseNo, (Timestamp, Option<Timestamp>), foldhash::fast::RandomState>,
}

impl Work {
    /// Writes a commit's rows and its case's timer; ends the holds on them.
    /// Drops the rows of units that are gone (a migration renumbered the case's tasks).
    pub(super) fn remove(&mut self, case_no: &CaseNo, units: &[TaskRef]) {
        for r in units {
            let key = (case_no.clone(), *r);
            if let Some(old) = self.rows.remove(&key)
                && let Some(at) = old.row.ready_at
                && let Some(set) = self.ready.get_mut(&old.row.department)
            {
                set.remove(&(at, key.0.clone(), key.1));
            }
        }
    }

    pub(super) fn write(&mut self, summary: &CaseSummary, rows: &[TaskRow]) {
        for r in rows {
            let key = (summary.case_no.clone(), r.task);
            if let Some(old) = self.rows.get(&key)
                && let Some(at) = old.row.ready_at
                && let Some(set) = self.ready.get_mut(&old.row.department)
            {
                set.remove(&(at, key.0.clone(), key.1));
            }
            if let Some(at) = r.ready_at {
                self.ready.entry(r.department.clone()).or_default().insert((
                    at,
                    key.0.clone(),
                    key.1,
                ));
            }
            self.rows.insert(
                key,
                Row {
                    row: r.clone(),
                    region: r.region.clone().unwrap_or_else(|| summary.region.clone()),
                    held_until: None,
                },
            );
        }
        let no = &summary.case_no;
        if let Some((old, _)) = self.timer_of.remove(no) {
            self.timers.remove(&(old, no.clone()));
        }
        if let Some(at) = summary.next_timer {
            self.timers.insert((at, no.clone()));
            self.timer_of.insert(no.clone(), (at, None));
        }
    }

    fn free(row: &Row, now: Timestamp) -> bool {
        row.row.locked_until().is_none_or(|t| t <= now) && row.held_until.is_none_or(|t| t <= now)
    }

    pub(super) fn claim_ready(&mut self, c: &ReadyClaim) -> Vec<Claimed> {
        let mut out = Vec::new();
        let Some(set) = self.ready.get(c.department.as_str()) else {
            return out;
        };
        for (_, case_no, task) in set {
            if out.len() >= c.limit {
                break;
            }
            let Some(row) = self.rows.get_mut(&(case_no.clone(), *task)) else {
                continue;
            };
            if row.row.pushed != c.pushed
                || !Self::free(row, c.now)
                || c.scope
                    .as_deref()
                    .is_some_and(|s| !row.region.starts_with(s))
                || (!c.kinds.is_empty() && !c.kinds.iter().any(|k| **k == *row.row.kind))
            {
                continue;
            }
            row.held_until = Some(c.hold_until);
            out.push(Claimed {
                case_no: case_no.clone(),
                task: *task,
            });
        }
        out
    }

    pub(super) fn claim_timers(
        &mut self,
        now: Timestamp,
        hold_until: Timestamp,
        limit: usize,
    ) -> Vec<(CaseNo, Timestamp)> {
        let mut out = Vec::new();
        for (at, no) in &self.timers {
            if *at > now || out.len() >= limit {
                break;
            }
            let Some((_, held)) = self.timer_of.get_mut(no) else {
                continue;
            };
            if held.is_some_and(|h| h > now) {
                continue;
            }
            *held = Some(hold_until);
            out.push((no.clone(), *at));
        }
        out
    }

    pub(super) fn next_timer(&self) -> Option<Timestamp> {
        self.timers.first().map(|(t, _)| *t)
    }

    pub(super) fn depths(&self, now: Timestamp) -> Vec<QueueDepth> {
        let mut out: Vec<QueueDepth> = self
            .ready
            .iter()
            .filter_map(|(d, set)| {
                let mut depth = 0;
                let mut oldest = None;
                for (at, no, task) in set {
                    if self.rows.get(&(no.clone(), *task)).is_some_and(|r| {
                        !r.row.pushed && r.row.locked_until().is_none_or(|t| t <= now)
                    }) {
                        depth += 1;
                        oldest = Some(oldest.map_or(*at, |o: Timestamp| o.min(*at)));
                    }
                }
                (depth > 0).then(|| QueueDepth {
                    department: d.to_string(),
                    depth,
                    oldest,
                })
            })
            .collect();
        out.sort_by(|a, b| a.department.cmp(&b.department));
        out
    }

    pub(super) fn dispatched(
        &self,
        departments: &[String],
        now: Timestamp,
        limit: usize,
    ) -> Vec<Claimed> {
        let mut all: Vec<(Timestamp, CaseNo, TaskRef)> = self
            .ready
            .values()
            .flatten()
            .filter(|(_, no, task)| {
                self.rows.get(&(no.clone(), *task)).is_some_and(|r| {
                    (r.row.pushed || departments.iter().any(|d| **d == *r.row.department))
                        && Self::free(r, now)
                })
            })
            .cloned()
            .collect();
        all.sort();
        all.into_iter()
            .take(limit)
            .map(|(_, case_no, task)| Claimed { case_no, task })
            .collect()
    }

    /// The case's units: `(department, state)`.
    pub(super) fn units_of<'a>(
        &'a self,
        case_no: &'a CaseNo,
    ) -> impl Iterator<Item = (&'a str, UnitStatus, &'a str)> + 'a {
        // Rows are few per case; tests and embedding only.
        self.rows
            .iter()
            .filter(move |((no, _), _)| no == case_no)
            .map(|(_, r)| (&*r.row.department, r.row.state, &*r.row.kind))
    }

    /// Units not settled, by department and state.
    pub(super) fn task_counts(&self) -> Vec<(String, UnitStatus, u64)> {
        let mut counts: HashMap<(String, UnitStatus), u64> = HashMap::new();
        for r in self.rows.values() {
            if !r.row.state.is_final() {
                *counts
                    .entry((r.row.department.to_string(), r.row.state))
                    .or_default() += 1;
            }
        }
        let mut out: Vec<_> = counts.into_iter().map(|((d, s), n)| (d, s, n)).collect();
        out.sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
        out
    }

    /// Unsettled units with a warning in a region subtree, by department and level.
    pub(super) fn warned(&self, region: &str) -> Vec<(String, Warning, u64)> {
        let mut counts: HashMap<(String, Warning), u64> = HashMap::new();
        for r in self.rows.values() {
            if !r.row.state.is_final()
                && r.row.warning != Warning::Green
                && r.region.starts_with(region)
            {
                *counts
                    .entry((r.row.department.to_string(), r.row.warning))
                    .or_default() += 1;
            }
        }
        let mut out: Vec<_> = counts.into_iter().map(|((d, w), n)| (d, w, n)).collect();
        out.sort();
        out
    }
}

/// The warning counts of open cases.
pub(super) fn warnings<'a>(open: impl Iterator<Item = &'a CaseSummary>) -> Vec<(Warning, u64)> {
    let (mut yellow, mut red) = (0, 0);
    for s in open {
        match s.warning {
            Warning::Yellow => yellow += 1,
            Warning::Red => red += 1,
            _ => {}
        }
    }
    vec![(Warning::Yellow, yellow), (Warning::Red, red)]
}
