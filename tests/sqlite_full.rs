//! SQLite on a full disk (a 2 MiB tmpfs the test mounts): once the disk is full each write is
//! refused with `503 store_unavailable` and `Retry-After`, nothing acknowledged is lost,
//! reads go on, `/readyz` answers `503 store_write_failing`; when the disk grows (the tmpfs remounted larger) the same process writes
//! again without a restart, and the audit chains verify.
//!
//! Needs root and `mount`, as `.ci/run` has; says so and skips otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount(dir: &Path, size: &str, remount: bool) -> bool {
    let opts = if remount {
        format!("remount,size={size}")
    } else {
        format!("size={size}")
    };
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &opts, "tmpfs"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_loses_nothing_and_heals_when_space_returns() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let disk = tmp.path().join("disk");
    std::fs::create_dir_all(&disk).expect("dir");
    if !mount(&disk, "2m", false) {
        println!("cannot mount a tmpfs here (needs root); skipping");
        return;
    }
    let _mounted = Mounted(disk.clone());
    let db = format!("sqlite://{}?mode=rwc", disk.join("yijian.db").display());
    let node = crate::process::serve(tmp.path(), &db).await;
    let base = node.base.clone();
    let http = reqwest::Client::new();
    let tokens = crate::process::tokens(tmp.path());
    let window = tokens["window"].as_str().expect("window").to_owned();
    let supervisor = tokens["supervisor"]
        .as_str()
        .expect("supervisor")
        .to_owned();
    let submit = |i: usize| {
        let (http, base, window) = (http.clone(), base.clone(), window.clone());
        async move {
            crate::process::submit(
                &http,
                &base,
                &window,
                &crate::process::application("full", i),
            )
            .await
            .expect("answered")
        }
    };
    let mut acknowledged = Vec::new();
    let mut full_at = None;
    for i in 0..2_000 {
        let (s, retry, v) = submit(i).await;
        if s == StatusCode::CREATED {
            acknowledged.push(v["case_no"].as_str().unwrap_or_default().to_owned());
            continue;
        }
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert!(retry, "with Retry-After");
        assert_eq!(v["error"]["code"], "store_unavailable", "{v}");
        full_at = Some(i);
        break;
    }
    let full_at = full_at.expect("the disk filled up");
    assert!(!acknowledged.is_empty());
    // The node says it cannot take writes, so a load balancer sends traffic elsewhere.
    let ready = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.headers().contains_key("retry-after"));
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["error"]["code"], "store_write_failing", "{body}");
    // Reads go on while writes are refused.
    let r = http
        .get(format!("{base}/v1/cases/{}", acknowledged[0]))
        .bearer_auth(&supervisor)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::OK);
    // More space: the same process writes again; the refused key is created once.
    assert!(mount(&disk, "64m", true), "remount larger");
    let start = Instant::now();
    loop {
        let (s, _, v) = submit(full_at).await;
        if s == StatusCode::CREATED {
            acknowledged.push(v["case_no"].as_str().unwrap_or_default().to_owned());
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "writes did not resume: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        ready.status(),
        StatusCode::OK,
        "ready again after a write was taken"
    );
    crate::process::assert_kept(&http, &base, &supervisor, &acknowledged, &db).await;
    println!("the disk filled after {} cases", acknowledged.len() - 1);
}
