//! `yijian serve` as a process, for the tests that need a real one (backup, database
//! faults): started on a free port with the catalog, waited for until ready, killed when
//! dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

/// A running `yijian serve`; killed (SIGKILL) when dropped.
pub(crate) struct Serve {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `yijian serve` in `dir` on the store `db` with the catalog, and waits until
/// `/readyz` answers 200.
pub(crate) async fn serve(dir: &Path, db: &str) -> Serve {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("definitions/catalog");
    let child = Command::new(env!("CARGO_BIN_EXE_yijian"))
        .args(["serve", "--db", db, "--bundles"])
        .arg(&catalog)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn yijian serve");
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "yijian serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Serve { child, base }
}

/// The development tokens a server wrote in `dir`.
pub(crate) fn tokens(dir: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(dir.join("yijian-dev-tokens.json")).expect("tokens"),
    )
    .expect("json")
}
