//! PostgreSQL stopped and started again under load: while it is down `/readyz` is 503 and
//! callers get `503 store_unavailable` with `Retry-After`; no submission acknowledged before,
//! during or after is lost; once it is back the same `yijian serve` process serves again
//! without a restart.
//!
//! The test runs its own PostgreSQL cluster (initdb in a temporary folder, its own port) so
//! that stopping it disturbs no other test; it needs Debian's PostgreSQL binaries and root
//! (to run them as `postgres`), as `.ci/run` has, and says so and skips otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    dirs.sort();
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    dirs.pop().filter(|_| is_root)
}

/// Runs a PostgreSQL tool as `postgres`.
fn as_postgres(bin: &Path, tool: &str, args: &str) -> bool {
    Command::new("su")
        .args([
            "postgres",
            "-c",
            &format!("{}/{tool} {args}", bin.display()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Cluster {
    fn start(&self) -> bool {
        as_postgres(
            &self.bin,
            "pg_ctl",
            &format!(
                "-D {} -l {}/log -o '-c listen_addresses=127.0.0.1 -p {} -k /tmp' start -w",
                self.data.display(),
                self.data.display(),
                self.port
            ),
        )
    }

    fn stop(&self) -> bool {
        as_postgres(
            &self.bin,
            "pg_ctl",
            &format!("-D {} stop -m fast -w", self.data.display()),
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_mid_load_loses_nothing_and_heals_by_itself() {
    let Some(bin) = pg_bin() else {
        println!("no PostgreSQL binaries, or not root; skipping");
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("pg");
    std::fs::create_dir_all(&data).expect("dir");
    assert!(
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(tmp.path())
            .status()
            .is_ok_and(|s| s.success())
    );
    assert!(
        as_postgres(
            &bin,
            "initdb",
            &format!("-D {} -A trust -U postgres", data.display())
        ),
        "initdb"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let pg = Cluster {
        bin: bin.clone(),
        data,
        port,
    };
    assert!(pg.start(), "PostgreSQL starts");
    assert!(as_postgres(
        &bin,
        "psql",
        &format!("-h 127.0.0.1 -p {port} -U postgres -c 'CREATE DATABASE outage'")
    ));
    let url = format!("postgres://postgres@127.0.0.1:{port}/outage");

    let work = tempfile::tempdir().expect("temp dir");
    let node = crate::process::serve(work.path(), &url).await;
    let base = node.base.clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(40))
        .build()
        .expect("client");
    let ready = |http: reqwest::Client, base: String| async move {
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .map(|r| r.status())
            .ok()
    };
    let tokens = crate::process::tokens(work.path());
    let window = tokens["window"].as_str().expect("window").to_owned();

    let submit = |i: usize| {
        let (http, base, window) = (http.clone(), base.clone(), window.clone());
        async move {
            crate::process::submit(
                &http,
                &base,
                &window,
                &crate::process::application("outage", i),
            )
            .await
        }
    };
    let mut acknowledged: Vec<String> = Vec::new();
    let mut refused = 0;
    for i in 0..20 {
        let (s, _, v) = submit(i).await.expect("answered");
        assert_eq!(s, StatusCode::CREATED, "{v}");
        acknowledged.push(v["case_no"].as_str().unwrap_or_default().to_owned());
    }
    assert!(pg.stop(), "PostgreSQL stops");
    assert_eq!(
        ready(http.clone(), base.clone()).await,
        Some(StatusCode::SERVICE_UNAVAILABLE),
        "/readyz reports the outage"
    );
    for i in 20..23 {
        match submit(i).await {
            Some((s, _, v)) if s == StatusCode::CREATED => {
                acknowledged.push(v["case_no"].as_str().unwrap_or_default().to_owned())
            }
            Some((s, retry, v)) => {
                assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
                assert!(retry, "with Retry-After");
                assert_eq!(v["error"]["code"], "store_unavailable", "{v}");
                refused += 1;
            }
            None => panic!("no answer during the outage"),
        }
    }
    assert!(
        refused > 0,
        "submissions during the outage are refused, not hung"
    );
    assert!(pg.start(), "PostgreSQL starts again");
    let start = Instant::now();
    while ready(http.clone(), base.clone()).await != Some(StatusCode::OK) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the node did not heal by itself"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The refused ones again, with their keys: each is created once now.
    for i in 20..40 {
        let (s, _, v) = submit(i).await.expect("answered");
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let no = v["case_no"].as_str().unwrap_or_default().to_owned();
        if !acknowledged.contains(&no) {
            acknowledged.push(no);
        }
    }
    assert_eq!(acknowledged.len(), 40, "one case per key");
    crate::process::assert_kept(
        &http,
        &base,
        tokens["supervisor"].as_str().unwrap_or_default(),
        &acknowledged,
        &url,
    )
    .await;
}
