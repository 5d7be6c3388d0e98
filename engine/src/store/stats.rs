//! [`CommitStats`]: how a store grouped commits into transactions (group commit), as a
//! histogram of commits per transaction.

/// Counts of a group-committing store: transactions written, the commits in them, and a
/// histogram of commits per transaction with the bucket bounds [`CommitStats::BOUNDS`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitStats {
    transactions: u64,
    commits: u64,
    /// Transactions per bucket (not cumulative): `counts[i]` holds the sizes in
    /// `(BOUNDS[i - 1], BOUNDS[i]]`, the last one those above every bound.
    counts: [u64; CommitStats::BOUNDS.len() + 1],
}

impl CommitStats {
    /// The upper bounds of the histogram's buckets (commits per transaction); one more
    /// bucket, unbounded, follows them.
    pub const BOUNDS: [u64; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

    /// No transaction yet.
    pub fn new() -> CommitStats {
        CommitStats::default()
    }

    /// Counts one transaction that wrote `commits` commits.
    pub fn record(&mut self, commits: u64) {
        self.transactions += 1;
        self.commits += commits;
        let bucket = CommitStats::BOUNDS
            .iter()
            .position(|&bound| commits <= bound)
            .unwrap_or(CommitStats::BOUNDS.len());
        self.counts[bucket] += 1;
    }

    /// Transactions written.
    pub fn transactions(&self) -> u64 {
        self.transactions
    }

    /// Commits written in them (the histogram's sum).
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// The cumulative buckets, Prometheus style: `(upper bound, transactions of at most
    /// that many commits)`, bounds increasing, ending with `(None, transactions)` for +Inf.
    pub fn buckets(&self) -> Vec<(Option<u64>, u64)> {
        let mut total = 0;
        let bounds = CommitStats::BOUNDS.iter().map(|&b| Some(b)).chain([None]);
        bounds
            .zip(self.counts)
            .map(|(bound, n)| {
                total += n;
                (bound, total)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_with_every_transaction() {
        let mut s = CommitStats::new();
        for n in [1, 1, 3, 4, 5, 512, 513, 10_000] {
            s.record(n);
        }
        assert_eq!(s.transactions(), 8);
        assert_eq!(s.commits(), 1 + 1 + 3 + 4 + 5 + 512 + 513 + 10_000);
        let b = s.buckets();
        assert_eq!(b.len(), CommitStats::BOUNDS.len() + 1);
        assert_eq!(b[0], (Some(1), 2));
        assert_eq!(b[1], (Some(2), 2));
        assert_eq!(b[2], (Some(4), 4));
        assert_eq!(b[3], (Some(8), 5));
        assert_eq!(b[9], (Some(512), 6));
        assert_eq!(b[10], (None, 8));
        assert!(b.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}
