//! `/metrics`: Prometheus text format, written by hand.
//!
//! Gauges are computed at scrape time from the engine (queues) and the case index (cases
//! and tasks: open cases are read from memory, cases closed since the start from the
//! cached rows; a case already closed at start counts by its stored status only, so a
//! scrape never replays old cases); counters are kept by the service, and the commit batch
//! histogram by the store.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use yijian_engine::store::{CommitStats, Store};

use super::state::AppState;

/// Counters kept by the service.
#[derive(Debug)]
pub(crate) struct Counters {
    /// Responses by status code (index = status).
    responses: Vec<AtomicU64>,
    /// Requests refused by the concurrency limit.
    pub(crate) overloaded: AtomicU64,
    /// Fetches refused by the long-poll cap.
    pub(crate) waiters_full: AtomicU64,
    /// Requests that ran out of time.
    pub(crate) timeouts: AtomicU64,
    /// Tasks leased to workers.
    pub(crate) leased: AtomicU64,
    /// Completions by decision: approved, rejected, supplement.
    pub(crate) completions: [AtomicU64; 3],
    /// Technical failures reported by back offices (`fail`).
    pub(crate) failures: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            responses: (0..600).map(|_| AtomicU64::new(0)).collect(),
            overloaded: AtomicU64::new(0),
            waiters_full: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            leased: AtomicU64::new(0),
            completions: Default::default(),
            failures: AtomicU64::new(0),
        }
    }
}

impl Counters {
    /// Counts a response.
    pub(crate) fn response(&self, status: u16) {
        if let Some(c) = self.responses.get(usize::from(status)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn bump(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// A Prometheus label value, escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders every metric.
pub(crate) async fn render<S: Store + Clone>(state: &AppState<S>) -> String {
    // Counted by the store over its indexed columns: every case, whichever node wrote it.
    let g = match state.engine().store().gauges().await {
        Ok(g) => g,
        Err(e) => {
            tracing::warn!(error = %e, "the store's gauges could not be read");
            Default::default()
        }
    };
    let cases: BTreeMap<String, u64> = g.cases.into_iter().collect();
    let tasks: BTreeMap<(String, &'static str), u64> = g
        .tasks
        .into_iter()
        .map(|(d, s, n)| ((d, s.as_str()), n))
        .collect();
    let warnings: BTreeMap<&'static str, u64> = g
        .warnings
        .into_iter()
        .map(|(w, n)| (w.as_str(), n))
        .collect();
    let mut out = String::with_capacity(4096);
    header(
        &mut out,
        "yijian_cases",
        "gauge",
        "Cases by status: every case in the store.",
    );
    for (status, n) in &cases {
        let _ = writeln!(out, "yijian_cases{{status=\"{}\"}} {n}", label(status));
    }
    header(
        &mut out,
        "yijian_cases_by_channel",
        "gauge",
        "Cases by the channel that took them (window, portal, app, kiosk…; \"\" when none was recorded).",
    );
    for (channel, n) in &g.channels {
        let _ = writeln!(
            out,
            "yijian_cases_by_channel{{channel=\"{}\"}} {n}",
            label(channel)
        );
    }
    header(
        &mut out,
        "yijian_tasks",
        "gauge",
        "Task units not settled, by department and state: every case in the store.",
    );
    for ((dep, st), n) in &tasks {
        let _ = writeln!(
            out,
            "yijian_tasks{{department=\"{}\",state=\"{st}\"}} {n}",
            label(dep)
        );
    }
    header(
        &mut out,
        "yijian_case_warnings",
        "gauge",
        "Open cases with a deadline warning (预警), by level.",
    );
    for level in ["yellow", "red"] {
        let n = warnings.get(level).copied().unwrap_or(0);
        let _ = writeln!(out, "yijian_case_warnings{{level=\"{level}\"}} {n}");
    }
    let now = state.engine().clock().now();
    let depths = state.engine().queue_depths().await.unwrap_or_default();
    header(
        &mut out,
        "yijian_queue_depth",
        "gauge",
        "Tasks waiting to be fetched, by department.",
    );
    for q in &depths {
        let _ = writeln!(
            out,
            "yijian_queue_depth{{department=\"{}\"}} {}",
            label(&q.department),
            q.depth
        );
    }
    header(
        &mut out,
        "yijian_queue_oldest_age_seconds",
        "gauge",
        "Age of the oldest task waiting in a department's queue.",
    );
    for q in &depths {
        let age = q
            .oldest
            .map_or(0.0, |t| now.duration_since(t).as_secs_f64().max(0.0));
        let _ = writeln!(
            out,
            "yijian_queue_oldest_age_seconds{{department=\"{}\"}} {age:.3}",
            label(&q.department)
        );
    }
    header(
        &mut out,
        "yijian_cases_in_memory",
        "gauge",
        "Cases held in the engine's memory.",
    );
    let _ = writeln!(
        out,
        "yijian_cases_in_memory {}",
        state.engine().cases_in_memory()
    );
    counters(&mut out, state);
    if let Some(stats) = state.engine().store().commit_stats() {
        batch_sizes(&mut out, &stats);
    }
    out
}

/// The store's group commits as a Prometheus histogram of commits per transaction.
fn batch_sizes(out: &mut String, stats: &CommitStats) {
    const NAME: &str = "yijian_commit_batch_size";
    header(
        out,
        NAME,
        "histogram",
        "Commits per store transaction (group commit).",
    );
    for (bound, n) in stats.buckets() {
        match bound {
            Some(b) => {
                let _ = writeln!(out, "{NAME}_bucket{{le=\"{b}\"}} {n}");
            }
            None => {
                let _ = writeln!(out, "{NAME}_bucket{{le=\"+Inf\"}} {n}");
            }
        }
    }
    let _ = writeln!(out, "{NAME}_sum {}", stats.commits());
    let _ = writeln!(out, "{NAME}_count {}", stats.transactions());
}

fn counters<S: Store + Clone>(out: &mut String, state: &AppState<S>) {
    let c = state.counters();
    header(
        out,
        "yijian_http_responses_total",
        "counter",
        "HTTP responses by status code.",
    );
    for (code, n) in c.responses.iter().enumerate() {
        let n = n.load(Ordering::Relaxed);
        if n > 0 {
            let _ = writeln!(out, "yijian_http_responses_total{{code=\"{code}\"}} {n}");
        }
    }
    header(
        out,
        "yijian_http_refused_total",
        "counter",
        "Requests refused to protect the service, by reason.",
    );
    for (reason, n) in [
        ("overloaded", bump(&c.overloaded)),
        ("long_polls", bump(&c.waiters_full)),
        ("timeout", bump(&c.timeouts)),
    ] {
        let _ = writeln!(out, "yijian_http_refused_total{{reason=\"{reason}\"}} {n}");
    }
    header(
        out,
        "yijian_tasks_leased_total",
        "counter",
        "Tasks leased to back-office workers.",
    );
    let _ = writeln!(out, "yijian_tasks_leased_total {}", bump(&c.leased));
    header(
        out,
        "yijian_completions_total",
        "counter",
        "Completions by decision.",
    );
    for (i, d) in ["approved", "rejected", "supplement"].iter().enumerate() {
        let _ = writeln!(
            out,
            "yijian_completions_total{{decision=\"{d}\"}} {}",
            bump(&c.completions[i])
        );
    }
    header(
        out,
        "yijian_adapter_errors_total",
        "counter",
        "Technical failures reported by back offices through `fail`.",
    );
    let _ = writeln!(out, "yijian_adapter_errors_total {}", bump(&c.failures));
    webhooks(out, state.webhooks());
}

/// Delivery figures of every webhook binding: attempts by outcome, attempt latency, and
/// deliveries that failed their task.
fn webhooks(out: &mut String, bound: &[super::bindings::BoundWebhook]) {
    if bound.is_empty() {
        return;
    }
    // One snapshot per webhook, so the three families agree with each other.
    let snapshots: Vec<(String, yijian_adapters::webhook::WebhookStats)> = bound
        .iter()
        .map(|b| {
            let labels = format!(
                "department=\"{}\",region=\"{}\"",
                label(&b.department),
                label(&b.region)
            );
            (labels, b.webhook.stats())
        })
        .collect();
    header(
        out,
        "yijian_webhook_attempts_total",
        "counter",
        "Webhook delivery attempts by outcome (answered, accepted, retried, refused).",
    );
    for (l, s) in &snapshots {
        for (outcome, n) in [
            ("answered", s.answered),
            ("accepted", s.accepted),
            ("retried", s.retried),
            ("refused", s.refused),
        ] {
            let _ = writeln!(
                out,
                "yijian_webhook_attempts_total{{{l},outcome=\"{outcome}\"}} {n}"
            );
        }
    }
    header(
        out,
        "yijian_webhook_failed_deliveries_total",
        "counter",
        "Webhook deliveries that ended by failing their task (refused, or attempts spent).",
    );
    for (l, s) in &snapshots {
        let _ = writeln!(
            out,
            "yijian_webhook_failed_deliveries_total{{{l}}} {}",
            s.failed_deliveries
        );
    }
    header(
        out,
        "yijian_webhook_attempt_seconds",
        "histogram",
        "Time of one webhook delivery attempt, from sending to the last byte of the answer.",
    );
    for (l, s) in &snapshots {
        for (le, n) in yijian_adapters::webhook::LATENCY_BUCKETS
            .iter()
            .zip(s.latency_buckets)
        {
            let _ = writeln!(
                out,
                "yijian_webhook_attempt_seconds_bucket{{{l},le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "yijian_webhook_attempt_seconds_bucket{{{l},le=\"+Inf\"}} {}",
            s.latency_count
        );
        let _ = writeln!(
            out,
            "yijian_webhook_attempt_seconds_sum{{{l}}} {}",
            s.latency_sum.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "yijian_webhook_attempt_seconds_count{{{l}}} {}",
            s.latency_count
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn batch_sizes_are_a_cumulative_histogram() {
        let mut stats = CommitStats::new();
        for n in [1, 3, 3, 700] {
            stats.record(n);
        }
        let mut out = String::new();
        batch_sizes(&mut out, &stats);
        assert!(
            out.starts_with(
                "# HELP yijian_commit_batch_size Commits per store transaction (group commit).\n\
             # TYPE yijian_commit_batch_size histogram\n\
             yijian_commit_batch_size_bucket{le=\"1\"} 1\n\
             yijian_commit_batch_size_bucket{le=\"2\"} 1\n\
             yijian_commit_batch_size_bucket{le=\"4\"} 3\n"
            ),
            "{out}"
        );
        assert!(
            out.ends_with(
                "yijian_commit_batch_size_bucket{le=\"512\"} 3\n\
             yijian_commit_batch_size_bucket{le=\"+Inf\"} 4\n\
             yijian_commit_batch_size_sum 707\n\
             yijian_commit_batch_size_count 4\n"
            ),
            "{out}"
        );
    }
}
