//! What a webhook's deliveries did, for metrics: attempts by outcome, attempt latency as a
//! histogram, and deliveries that ended in a failed task.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds (Prometheus `le`).
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AttemptOutcome {
    /// The back office decided in its response.
    Answered,
    /// Received; the answer comes later.
    Accepted,
    /// Worth another attempt (a 5xx, 408, 429, a timeout, a connection error).
    Retry,
    /// Refused for good (another 4xx, a 3xx, an unreadable answer).
    Refused,
}

/// Counters shared by a webhook's clones.
#[derive(Debug, Default)]
pub(super) struct Counters {
    outcomes: [AtomicU64; 4],
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    failed_deliveries: AtomicU64,
}

impl Counters {
    pub(super) fn attempt(&self, outcome: AttemptOutcome, took: Duration) {
        self.outcomes[outcome as usize].fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub(super) fn failed_delivery(&self) {
        self.failed_deliveries.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> WebhookStats {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut cumulative = 0;
        let mut buckets = [0; LATENCY_BUCKETS.len()];
        for (out, b) in buckets.iter_mut().zip(&self.buckets) {
            cumulative += load(b);
            *out = cumulative;
        }
        WebhookStats {
            answered: load(&self.outcomes[AttemptOutcome::Answered as usize]),
            accepted: load(&self.outcomes[AttemptOutcome::Accepted as usize]),
            retried: load(&self.outcomes[AttemptOutcome::Retry as usize]),
            refused: load(&self.outcomes[AttemptOutcome::Refused as usize]),
            latency_buckets: buckets,
            latency_count: load(&self.count),
            latency_sum: Duration::from_micros(load(&self.sum_micros)),
            failed_deliveries: load(&self.failed_deliveries),
        }
    }
}

/// A webhook's delivery figures since it was built (task deliveries and cancellation
/// notices alike).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookStats {
    /// Attempts the back office answered with a decision.
    pub answered: u64,
    /// Attempts acknowledged (the answer comes later).
    pub accepted: u64,
    /// Attempts that failed in a way worth retrying.
    pub retried: u64,
    /// Attempts refused for good.
    pub refused: u64,
    /// Attempts per latency bucket, cumulative, bounds in [`LATENCY_BUCKETS`]; the `+Inf`
    /// bucket is `latency_count`.
    pub latency_buckets: [u64; LATENCY_BUCKETS.len()],
    /// Attempts timed.
    pub latency_count: u64,
    /// Their total time.
    pub latency_sum: Duration,
    /// Deliveries that ended by failing the task (refused, or attempts spent).
    pub failed_deliveries: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_agree_with_the_count() {
        let c = Counters::default();
        c.attempt(AttemptOutcome::Accepted, Duration::from_millis(3));
        c.attempt(AttemptOutcome::Retry, Duration::from_millis(40));
        c.attempt(AttemptOutcome::Retry, Duration::from_secs(30));
        c.failed_delivery();
        let s = c.snapshot();
        assert_eq!((s.accepted, s.retried, s.answered, s.refused), (1, 2, 0, 0));
        assert_eq!(s.latency_buckets[0], 1, "≤ 5 ms");
        assert_eq!(s.latency_buckets[3], 2, "≤ 50 ms");
        assert_eq!(
            s.latency_buckets[LATENCY_BUCKETS.len() - 1],
            2,
            "30 s is over 10 s"
        );
        assert_eq!(s.latency_count, 3);
        assert_eq!(s.latency_sum, Duration::from_millis(30_043));
        assert_eq!(s.failed_deliveries, 1);
    }
}
