//! Check + compile of generated bundles of 500 / 1,000 / 2,000 tasks, wide and deep.
//!
//! Run with: `cargo bench --bench check`
//!
//! wide: every task after one root, reading the root's output and the form.
//! deep: a chain, each task after the previous one and reading its output.
//! Prints the median of 15 runs per size and the cost per task, so linear growth shows as a
//! flat per-task figure.

use std::time::Instant;

use yijian::definitions::{CheckOptions, check};

fn bundle(n: usize, deep: bool) -> String {
    let mut s = String::with_capacity(n * 200);
    s.push_str("yijian: 1\nid: generated\nversion: 1\ntitle: generated\ntime_limit: 5000wd\n");
    s.push_str(
        "form:\n  name: {type: string, required: true}\n  area: {type: number, default: 0}\n",
    );
    s.push_str("tasks:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  t{i}:\n    title: 任务{i}\n    department: d{}\n    time_limit: 1wd\n",
            i % 17
        ));
        s.push_str("    output: {no: string}\n");
        if i > 0 {
            let up = if deep { i - 1 } else { 0 };
            s.push_str(&format!("    after: [t{up}]\n"));
            s.push_str(&format!("    when: form.area > {}\n", i % 50));
            s.push_str(&format!(
                "    input: {{name: form.name, prev: tasks.t{up}.output.no}}\n"
            ));
        }
    }
    s
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let options = CheckOptions::default();
    println!(
        "{:<6} {:>6} {:>12} {:>14}",
        "shape", "tasks", "median ms", "µs per task"
    );
    for deep in [false, true] {
        for n in [500, 1000, 2000] {
            let text = bundle(n, deep);
            let mut times = Vec::new();
            for _ in 0..15 {
                let t = Instant::now();
                let checked = check(&text, &options);
                let dt = t.elapsed().as_secs_f64();
                assert!(
                    !checked.has_errors(),
                    "{:?}",
                    &checked.diagnostics[..3.min(checked.diagnostics.len())]
                );
                assert_eq!(checked.blueprint.as_ref().map(|b| b.tasks.len()), Some(n));
                times.push(dt);
            }
            let m = median(times);
            println!(
                "{:<6} {:>6} {:>12.2} {:>14.2}",
                if deep { "deep" } else { "wide" },
                n,
                m * 1e3,
                m * 1e6 / n as f64
            );
        }
    }
}
