//! `examples/backoffice_worker.rs` run as written, as one process per department, against
//! a server: the 开办餐饮店 case it serves ends approved, so the example cannot rot.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::server::{Server, restaurant, status_of};

/// The example's executable, built by `cargo test` next to this test's own.
fn example() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?.join("examples");
    let path = dir.join(format!("backoffice_worker{}", std::env::consts::EXE_SUFFIX));
    path.exists().then_some(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backoffice_worker_example_serves_a_case_to_its_end() {
    let Some(worker) = example() else {
        panic!("examples/backoffice_worker was not built (cargo test builds examples)");
    };
    let server = Server::start().await;
    let (s, v) = server
        .post("/v1/cases", &server.tokens.window, restaurant("example-1"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let case_no = v["case_no"].as_str().expect("case_no").to_owned();
    let start = Instant::now();
    loop {
        // Each department's worker once through its queue (`--once`: stop when empty).
        for dep in ["market", "urban", "tobacco", "fire"] {
            let base = server.base.clone();
            let token = server.dept(dep);
            let worker = worker.clone();
            let out = tokio::task::spawn_blocking(move || {
                Command::new(worker)
                    .args(["--url", &base, "--department", dep, "--token", &token])
                    .args(["--worker", &format!("{dep}-example"), "--once"])
                    .output()
            })
            .await
            .expect("joined")
            .expect("the example runs");
            assert!(
                out.status.success(),
                "{dep}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let case = server.case(&case_no).await;
        if case["status"] == "completed" && status_of(&case, "fire_check.verify") == "approved" {
            assert_eq!(status_of(&case, "food_permit"), "approved", "{case:#}");
            assert_eq!(status_of(&case, "tobacco"), "approved", "{case:#}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the case did not finish: {case:#}"
        );
    }
    server.stop().await;
}
