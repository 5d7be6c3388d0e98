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
    serve_with(dir, db, &[], &[]).await
}

/// [`serve`] with more arguments (e.g. `--config FILE`) and environment variables.
pub(crate) async fn serve_with(
    dir: &Path,
    db: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Serve {
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
        .args(args)
        .envs(envs.iter().copied())
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

/// A 开办餐饮店 application of 120 m² — only the food permit to decide — with the
/// idempotency key `{prefix}-{i}`.
pub(crate) fn application(prefix: &str, i: usize) -> Value {
    serde_json::json!({"bundle": "open-restaurant", "region": "320106",
        "form": {"uscc": "91320106MA1XY01234", "shop_name": format!("面馆{i}"),
                 "address": "南京市鼓楼区中山路1号", "operator_name": "王五", "floor_area": 120,
                 "food_categories": [{"category": "hot_food"}], "partners": []},
        "materials": {"lease": {"name": "租赁合同.pdf"}, "floor_plan": {"name": "平面图.pdf"},
                      "food_safety_rules": {"name": "食品安全管理制度.pdf"}},
        "idempotency_key": format!("{prefix}-{i}")})
}

/// Submits `app` with the window's token: `(status, whether Retry-After came, body)`, or
/// `None` when no answer arrived.
pub(crate) async fn submit(
    http: &reqwest::Client,
    base: &str,
    window: &str,
    app: &Value,
) -> Option<(StatusCode, bool, Value)> {
    let r = http
        .post(format!("{base}/v1/cases"))
        .bearer_auth(window)
        .json(app)
        .send()
        .await
        .ok()?;
    let status = r.status();
    let retry = r.headers().get("retry-after").is_some();
    Some((status, retry, r.json().await.unwrap_or(Value::Null)))
}

/// Every acknowledged case reads back (200), and `yijian audit verify` passes on the store.
pub(crate) async fn assert_kept(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    acknowledged: &[String],
    db: &str,
) {
    for no in acknowledged {
        let r = http
            .get(format!("{base}/v1/cases/{no}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("sent");
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "acknowledged case {no} is stored"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_yijian"))
        .args(["audit", "verify", "--db", db])
        .output()
        .expect("audit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
