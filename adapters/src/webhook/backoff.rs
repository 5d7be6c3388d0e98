//! How long to wait between delivery attempts: exponential, jittered, bounded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Exponential backoff between `min` and `max` (adapters.yaml `backoff: 1s..10m`).
///
/// The wait before the `n`-th retry (from 1) is drawn uniformly from the doubling window
/// `[min·2ⁿ⁻¹, min·2ⁿ]`, both ends capped at `max`: the first retry waits between `min` and
/// `2·min`, the second between `2·min` and `4·min`, and so on. The jitter spans the whole
/// window, so retries from many deliveries spread out, yet the wait never drops below the
/// window's floor: a struggling back office sees the pressure fall attempt after attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
}

impl Default for Backoff {
    /// `1s..10m`.
    fn default() -> Self {
        Backoff {
            min: Duration::from_secs(1),
            max: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// Backoff from `min` up to `max` (checked when the adapter is built).
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff { min, max }
    }

    /// The shortest wait.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The longest wait.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The window the wait before the `retry`-th retry (from 1) is drawn from.
    pub fn window(&self, retry: u32) -> (Duration, Duration) {
        let scaled = |exp: u32| {
            1u32.checked_shl(exp)
                .and_then(|f| self.min.checked_mul(f))
                .map_or(self.max, |d| d.min(self.max))
        };
        let retry = retry.max(1);
        (scaled(retry - 1), scaled(retry))
    }

    /// A wait drawn from the `retry`-th window.
    pub(crate) fn delay(&self, retry: u32, jitter: &mut Jitter) -> Duration {
        let (lo, hi) = self.window(retry);
        let span = hi.saturating_sub(lo);
        // Nanosecond resolution is plenty; spans beyond u64 nanoseconds (584 years) saturate.
        let span_nanos = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
        if span_nanos == 0 {
            return lo;
        }
        lo + Duration::from_nanos(jitter.next() % span_nanos.saturating_add(1))
    }
}

/// Retry policy for one delivery (adapters.yaml `retry: {attempts: 8, backoff: 1s..10m}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    attempts: u32,
    backoff: Backoff,
}

impl Default for Retry {
    /// 8 attempts, backoff `1s..10m`.
    fn default() -> Self {
        Retry {
            attempts: 8,
            backoff: Backoff::default(),
        }
    }
}

impl Retry {
    /// `attempts` in all, the first included, waiting `backoff` in between.
    pub fn new(attempts: u32, backoff: Backoff) -> Retry {
        Retry { attempts, backoff }
    }

    /// Attempts in all, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The backoff between attempts.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }
}

/// A xorshift64* generator seeded from the time and a process-wide counter. Jitter needs
/// spread, not unpredictability, so this is enough and avoids a dependency on `rand`.
#[derive(Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn seeded() -> Jitter {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        // The golden-ratio multiplier spreads consecutive counters; `| 1` keeps the state
        // non-zero, which xorshift needs.
        Jitter((nanos ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn windows_double_and_cap() {
        let b = Backoff::new(10 * MS, 200 * MS);
        let windows: Vec<_> = (1..=7).map(|n| b.window(n)).collect();
        assert_eq!(
            windows,
            [
                (10 * MS, 20 * MS),
                (20 * MS, 40 * MS),
                (40 * MS, 80 * MS),
                (80 * MS, 160 * MS),
                (160 * MS, 200 * MS),
                (200 * MS, 200 * MS),
                (200 * MS, 200 * MS),
            ]
        );
        assert_eq!(b.window(0), b.window(1));
        assert_eq!(b.window(u32::MAX), (200 * MS, 200 * MS));
    }

    #[test]
    fn delays_stay_in_their_window_and_spread() {
        let b = Backoff::default();
        let mut j = Jitter::seeded();
        for n in 1..=12 {
            let (lo, hi) = b.window(n);
            let draws: Vec<_> = (0..200).map(|_| b.delay(n, &mut j)).collect();
            assert!(draws.iter().all(|d| (lo..=hi).contains(d)), "retry {n}");
            if lo < hi {
                let first = draws[0];
                assert!(draws.iter().any(|d| *d != first), "retry {n} has no jitter");
            }
        }
    }
}
