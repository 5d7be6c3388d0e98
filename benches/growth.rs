//! How the in-memory engine's cost grows (issue 17, deliverable 3): throughput and memory
//! for bundles of 5, 20 and 100 parallel tasks, and for 100, 1,000 and 10,000 cases in
//! flight — each against the same run's bundle-5 at 100 in flight, as ratios — and the
//! submit latency (an in-process answer: submit returns the completed case) at half the
//! peak rate, open loop.
//!
//! Run with: `cargo bench --bench growth` (options: `-- --tasks 200000 --hold 100000`:
//! task units per throughput run, cases held for the memory figure).
//!
//! A bundle of N tasks: submit → N parallel tasks over 5 departments (round robin) → join →
//! end; in-process adapters approve each task as soon as it is dispatched. Each run
//! completes the same number of **task units** (`--tasks`), so cases/s × N is comparable.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::json;
use yijian::adapters::in_process::InProcess;
use yijian::engine::{Decision, Engine, MemoryStore, Submission, SubmitRequest};

#[path = "support.rs"]
mod support;
use support::{arg, median, rss_bytes};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A bundle of `n` parallel tasks over five departments.
fn bundle(n: usize) -> String {
    let mut y = format!(
        "yijian: 1\nid: bundle-{n}\nversion: 1\ntitle: bundle-{n}\ntime_limit: 5wd\ntasks:\n"
    );
    for i in 0..n {
        y.push_str(&format!(
            "  t{i}: {{title: T{i}, department: d{}, output: {{licence_no: string}}}}\n",
            i % 5
        ));
    }
    y
}

async fn engine(n: usize, approving: bool) -> Engine<MemoryStore> {
    let e = Engine::builder(MemoryStore::new())
        .build()
        .await
        .expect("engine");
    e.deploy(&bundle(n)).await.expect("deploy");
    if approving {
        for d in 0..5 {
            e.register_adapter(
                format!("d{d}"),
                Arc::new(InProcess::new(|_| {
                    Decision::Approve(json!({"licence_no": "X"}))
                })),
            );
        }
    }
    e
}

fn request(n: usize) -> SubmitRequest {
    SubmitRequest {
        bundle: format!("bundle-{n}"),
        submission: Submission::default(),
        ..SubmitRequest::default()
    }
}

/// Cases/s for `cases` cases of bundle-`n` with `window` in flight.
async fn throughput(n: usize, cases: usize, window: usize) -> f64 {
    let e = engine(n, true).await;
    let next = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..window {
        let (e, next) = (e.clone(), next.clone());
        set.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < cases as u64 {
                let v = e.submit(request(n)).await.expect("submit");
                assert_eq!(v.outcome.as_deref(), Some("completed"));
            }
        });
    }
    while set.join_next().await.is_some() {}
    cases as f64 / t.elapsed().as_secs_f64()
}

/// Resident bytes per waiting case of bundle-`n` (every task dispatched, none decided).
async fn held(n: usize, cases: usize) -> f64 {
    let before = rss_bytes();
    let e = engine(n, false).await;
    for _ in 0..cases {
        e.submit(request(n)).await.expect("submit");
    }
    let after = rss_bytes();
    drop(e);
    after.saturating_sub(before) as f64 / cases as f64
}

/// Submit acknowledgement latencies (µs, p50 and p99) at `rate` cases/s, open loop: every
/// millisecond the cases due are started, each timed from when it was due.
async fn latency(rate: f64, cases: usize) -> (f64, f64) {
    let e = engine(5, true).await;
    let per_ms = rate / 1000.0;
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut started = 0_usize;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while started < cases {
        tick.tick().await;
        let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
        let due = ((elapsed_ms * per_ms) as usize).min(cases);
        while started < due {
            let due_at = start + std::time::Duration::from_secs_f64(started as f64 / rate);
            let e = e.clone();
            set.spawn(async move {
                let v = e.submit(request(5)).await.expect("submit");
                assert_eq!(v.outcome.as_deref(), Some("completed"));
                due_at.elapsed().as_secs_f64() * 1e6
            });
            started += 1;
        }
    }
    let mut lat = Vec::with_capacity(cases);
    while let Some(r) = set.join_next().await {
        lat.push(r.expect("joined"));
    }
    lat.sort_by(f64::total_cmp);
    let at = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    (at(0.50), at(0.99))
}

fn main() {
    let units = arg("--tasks", 200_000);
    let hold = arg("--hold", 100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Memory: each size in a fresh process of its own (freed memory is reused, so a second
    // measurement in one process would see no growth).
    if let Some(n) = std::env::args().skip_while(|a| a != "--held-one").nth(1) {
        let n: usize = n.parse().expect("--held-one N");
        println!("{}", rt.block_on(held(n, hold / n)));
        return;
    }
    println!("resident per waiting case ({hold} task units held per size, a process each)");
    for n in [5, 20, 100] {
        let out = std::process::Command::new(std::env::current_exe().expect("this bench"))
            .args(["--held-one", &n.to_string(), "--hold", &hold.to_string()])
            .output()
            .expect("run the memory measurement");
        let b: f64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("bytes per case");
        println!(
            "  bundle-{n:<4} {:>9.2} KiB a case, {:>7.0} bytes a task",
            b / 1024.0,
            b / n as f64
        );
    }
    println!(
        "throughput, {units} task units a run, median of 3 (bundle-5 at 100 in flight alongside)"
    );
    let base = |rt: &tokio::runtime::Runtime| rt.block_on(throughput(5, units / 5, 100));
    for n in [5, 20, 100] {
        let (mut runs, mut bases) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            bases.push(base(&rt));
            runs.push(rt.block_on(throughput(n, units / n, 100)));
        }
        let (r, b) = (median(runs), median(bases));
        println!(
            "  bundle-{n:<4} 100 in flight: {r:>9.0} cases/s = {:>9.0} tasks/s; {:>6.1} % of bundle-5's tasks/s",
            r * n as f64,
            100.0 * r * n as f64 / (b * 5.0)
        );
    }
    let peak = median((0..3).map(|_| base(&rt)).collect());
    let (p50, p99) = rt.block_on(latency(peak / 2.0, units / 5));
    println!(
        "  submit → completed answer at half the peak ({:.0} cases/s): p50 {p50:.0} µs, p99 {p99:.0} µs",
        peak / 2.0
    );
    for window in [100, 1_000, 10_000] {
        let (mut runs, mut bases) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            bases.push(base(&rt));
            runs.push(rt.block_on(throughput(5, units / 5, window)));
        }
        let (r, b) = (median(runs), median(bases));
        println!(
            "  bundle-5   {window:>6} in flight: {r:>9.0} cases/s; {:>6.1} % of 100 in flight",
            100.0 * r / b
        );
    }
}
