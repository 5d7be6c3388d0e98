//! Refused lineages: the part of the commit contract that refuses a commit decided on top
//! of a refused one (see [`super::Commit::lineage`]).

use std::collections::{HashMap, VecDeque};

/// The commits a store refused, by case: the lineage and version of the lowest refusal of
/// that lineage. A lineage is never reused once its commit was refused (the engine drops
/// that copy of the case), so entries are never cleared by later commits — doing so could
/// let a late commit of the refused lineage through; the oldest are forgotten beyond
/// [`Refusals::MAX`], long after the lineage's last commit has come by.
#[derive(Debug, Default)]
pub struct Refusals {
    by_case: HashMap<String, (u64, u64)>,
    order: VecDeque<String>,
}

impl Refusals {
    /// How many refusals are remembered.
    pub const MAX: usize = 10_000;

    /// Whether a commit must be refused because it was decided on top of a refused one.
    #[must_use]
    pub fn blocks(&self, case_no: &str, lineage: u64, expected: u64) -> bool {
        lineage != 0
            && !self.by_case.is_empty()
            && self
                .by_case
                .get(case_no)
                .is_some_and(|&(l, e)| l == lineage && expected > e)
    }

    /// Records a refused commit.
    pub fn refused(&mut self, case_no: &str, lineage: u64, expected: u64) {
        if lineage == 0 {
            return;
        }
        if let Some(entry) = self.by_case.get_mut(case_no) {
            if entry.0 != lineage || expected < entry.1 {
                *entry = (lineage, expected);
            }
            return;
        }
        if self.order.len() >= Self::MAX
            && let Some(oldest) = self.order.pop_front()
        {
            self.by_case.remove(&oldest);
        }
        self.by_case.insert(case_no.to_owned(), (lineage, expected));
        self.order.push_back(case_no.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::Refusals;

    #[test]
    fn a_refused_lineage_stays_refused_above_its_version() {
        let mut r = Refusals::default();
        assert!(!r.blocks("c", 7, 9));
        r.refused("c", 7, 8);
        assert!(r.blocks("c", 7, 9), "decided on top of the refused commit");
        assert!(
            !r.blocks("c", 7, 8),
            "the refused version itself is the store's check"
        );
        assert!(!r.blocks("c", 3, 9), "another lineage");
        assert!(!r.blocks("d", 7, 9), "another case");
        assert!(!r.blocks("c", 0, 9), "no lineage");
        r.refused("c", 7, 5);
        assert!(r.blocks("c", 7, 6), "the lowest refusal counts");
    }

    #[test]
    fn the_oldest_refusals_are_forgotten_beyond_the_bound() {
        let mut r = Refusals::default();
        for i in 0..=Refusals::MAX {
            r.refused(&format!("c{i}"), 1, 1);
        }
        assert!(!r.blocks("c0", 1, 2), "the oldest is forgotten");
        assert!(r.blocks("c1", 1, 2));
        assert!(r.blocks(&format!("c{}", Refusals::MAX), 1, 2));
    }
}
