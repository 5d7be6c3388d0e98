//! Wrong progress-query codes, counted per client address and per case number: each wrong
//! code is answered more slowly than the last, and past a limit the key is refused (429)
//! until its window ends. The same counts, per address alone, limit wrong tokens. Kept in
//! each node's memory (a node restart forgets it; several
//! nodes each count their own), bounded in size.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long failures are remembered.
pub(crate) const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Wrong codes one client address may send in a window.
pub(crate) const PER_CLIENT: u32 = 10;
/// Wrong codes one case number may receive in a window, from anyone.
pub(crate) const PER_CASE: u32 = 5;
/// The extra wait per earlier failure, and its cap.
const STEP: Duration = Duration::from_millis(250);
const MOST: Duration = Duration::from_secs(2);
/// Keys kept at most; past it, expired ones are dropped, then the oldest half.
const CAPACITY: usize = 100_000;

/// The failure counts.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    // std Mutex: a map lookup or update, never held across an await.
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    /// Whether any failure was ever counted: until then a check takes no lock (the token
    /// check runs on every request).
    any: AtomicBool,
}

/// What to do with an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Look it up, after this wait (the slow-down earned by earlier failures).
    Go(Duration),
    /// Refuse it; the key is free again after this long.
    Refuse(Duration),
}

/// A key's failures in the current window and the time left in it.
fn live(map: &HashMap<String, (u32, Instant)>, key: &str, now: Instant) -> Option<(u32, Duration)> {
    map.get(key)
        .filter(|(_, since)| now.duration_since(*since) < WINDOW)
        .map(|(n, since)| (*n, WINDOW.saturating_sub(now.duration_since(*since))))
}

impl Limiter {
    /// Whether an attempt from `client` on `case_no` may be looked up now.
    pub(crate) fn check(&self, client: &str, case_no: &str) -> Verdict {
        if !self.counted() {
            return Verdict::Go(Duration::ZERO);
        }
        let now = Instant::now();
        let map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let by_client = live(&map, &format!("ip:{client}"), now);
        let by_case = live(&map, &format!("case:{case_no}"), now);
        for (found, most) in [(by_client, PER_CLIENT), (by_case, PER_CASE)] {
            if let Some((n, left)) = found
                && n >= most
            {
                return Verdict::Refuse(left);
            }
        }
        let n = by_client.map_or(0, |c| c.0).max(by_case.map_or(0, |c| c.0));
        Verdict::Go((STEP * n).min(MOST))
    }

    /// Whether any failure was ever counted (a check before it is a sure `Go`).
    pub(crate) fn counted(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    /// Whether `key` may try again: refused once it failed `most` times in the window.
    pub(crate) fn check_one(&self, key: &str, most: u32) -> Verdict {
        if !self.counted() {
            return Verdict::Go(Duration::ZERO);
        }
        let map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        match live(&map, key, Instant::now()) {
            Some((n, left)) if n >= most => Verdict::Refuse(left),
            _ => Verdict::Go(Duration::ZERO),
        }
    }

    /// Counts a wrong code (or an unknown case number: the two are not told apart).
    pub(crate) fn failed(&self, client: &str, case_no: &str) {
        self.failed_one(&format!("ip:{client}"));
        self.failed_one(&format!("case:{case_no}"));
    }

    /// Counts a failure of `key` alone.
    pub(crate) fn failed_one(&self, key: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        self.any.store(true, Ordering::Relaxed);
        if map.len() >= CAPACITY {
            map.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
            if map.len() >= CAPACITY {
                let mut ages: Vec<Instant> = map.values().map(|(_, s)| *s).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                map.retain(|_, (_, since)| *since > cut);
            }
        }
        let e = map.entry(key.to_owned()).or_insert((0, now));
        if now.duration_since(e.1) >= WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
    }
}

/// The client's address as the key of its counts: the peer's IP where the server knows it
/// (real sockets do), else `local` (in-process routers called without one).
pub(crate) fn client_of(parts: &axum::http::request::Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "local".to_owned(), |c| c.0.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_codes_slow_down_then_refuse_per_case_and_per_client() {
        let l = Limiter::default();
        assert_eq!(l.check("1.2.3.4", "A"), Verdict::Go(Duration::ZERO));
        l.failed("1.2.3.4", "A");
        assert_eq!(l.check("1.2.3.4", "A"), Verdict::Go(STEP));
        for _ in 1..PER_CASE {
            l.failed("1.2.3.4", "A");
        }
        assert!(
            matches!(l.check("9.9.9.9", "A"), Verdict::Refuse(_)),
            "the case, from anyone"
        );
        assert!(matches!(l.check("1.2.3.4", "B"), Verdict::Go(d) if d > Duration::ZERO));
        for i in 0..PER_CLIENT {
            l.failed("1.2.3.4", &format!("C{i}"));
        }
        assert!(
            matches!(l.check("1.2.3.4", "D"), Verdict::Refuse(_)),
            "the client, on any case"
        );
        assert_eq!(l.check("5.6.7.8", "D"), Verdict::Go(Duration::ZERO));
    }
}
