//! bundle-5 on the in-memory store: throughput against a raw ceiling, and memory per
//! waiting case.
//!
//! Run with: `cargo bench --bench engine` (options: `-- --cases 100000 --hold 100000`)
//!
//! - **bundle-5**: submit → 5 parallel department tasks → join → end. In-process adapters
//!   approve each task with `{"licence_no": "X"}` as soon as it is dispatched; 100 cases
//!   are kept in flight by 100 concurrent submitters on a 2-worker tokio runtime.
//! - **raw ceiling**: the same 12 state changes per case in a plain `HashMap` loop.
//! - **hold**: N cases submitted and forked, no task completed; resident memory per case.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::json;
use yijian::adapters::in_process::InProcess;
use yijian::engine::{Decision, Engine, MemoryStore, Submission, SubmitRequest};

// The same allocator as the `yijian` binary.
#[path = "support.rs"]
mod support;
use support::{arg, median, rss_bytes};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BUNDLE5: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/data/bundle-5.yaml"
));

fn raw_ceiling(n: usize) -> f64 {
    // The same 12 state changes per case: create, 5 dispatches, 5 approvals, close.
    let t = Instant::now();
    let mut map: std::collections::HashMap<u64, [u8; 6]> = std::collections::HashMap::new();
    for i in 0..n as u64 {
        map.insert(i, [0; 6]);
        for k in 0..5 {
            map.get_mut(&i).expect("present")[k] = 1;
        }
        for k in 0..5 {
            map.get_mut(&i).expect("present")[k] = 2;
        }
        map.get_mut(&i).expect("present")[5] = 9;
    }
    std::hint::black_box(&map);
    n as f64 / t.elapsed().as_secs_f64()
}

async fn engine(approving: bool) -> Engine<MemoryStore> {
    let e = Engine::builder(MemoryStore::new())
        .build()
        .await
        .expect("engine");
    e.deploy(BUNDLE5).await.expect("deploy");
    if approving {
        for d in ["a", "b", "c", "d", "e"] {
            e.register_adapter(
                d,
                Arc::new(InProcess::new(|_| {
                    Decision::Approve(json!({"licence_no": "X"}))
                })),
            );
        }
    }
    e
}

fn request() -> SubmitRequest {
    SubmitRequest {
        bundle: "bundle-5".into(),
        submission: Submission::default(),
        ..SubmitRequest::default()
    }
}

async fn throughput(n: usize, window: usize) -> f64 {
    let e = engine(true).await;
    let next = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..window {
        let (e, next) = (e.clone(), next.clone());
        set.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n as u64 {
                let v = e.submit(request()).await.expect("submit");
                assert_eq!(v.outcome.as_deref(), Some("completed"));
            }
        });
    }
    while set.join_next().await.is_some() {}
    n as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let cases = arg("--cases", 100_000);
    let hold = arg("--hold", 100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Memory first, in a fresh process, before throughput runs grow the heap.
    let before = rss_bytes();
    let e = rt.block_on(engine(false));
    rt.block_on(async {
        for _ in 0..hold {
            e.submit(request()).await.expect("submit");
        }
    });
    let after = rss_bytes();
    println!("hold: {hold} cases forked and waiting (5 tasks dispatched each)");
    println!("  in memory    {:>12} cases", e.cases_in_memory());
    println!(
        "  resident     {:>12.2} KiB per case (engine state + in-memory event log)",
        (after.saturating_sub(before)) as f64 / 1024.0 / hold as f64
    );
    drop(e);
    println!("bundle-5, in-memory store, {cases} cases, 100 in flight, median of 3");
    let mut engine_runs = Vec::new();
    let mut raw_runs = Vec::new();
    for _ in 0..3 {
        raw_runs.push(raw_ceiling(cases));
        engine_runs.push(rt.block_on(throughput(cases, 100)));
    }
    let (eng, raw) = (median(engine_runs), median(raw_runs));
    println!("  engine       {eng:>12.0} cases/s");
    println!("  raw ceiling  {raw:>12.0} cases/s");
    println!("  ratio        {:>12.2} %", 100.0 * eng / raw);
}
