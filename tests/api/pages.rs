//! The public pages in a real browser: headless Chromium (Debian's package) driven by
//! playwright-core (tests/browser/public.mjs) opens the 办事指南 list and a guide, prints it
//! to A4, and looks a case up on the progress page with a wrong code and with the receipt's
//! — seeing the masked applicant, the 一次性告知 notice, and a back office's HTML-looking
//! text as text. Screenshots go to the tests' temporary folder (`target/tmp/screenshots`).
//!
//! `.ci/run` installs Chromium and playwright-core (`npm ci` of tests/browser into
//! `target/browser-node`) and names them in `CHROMIUM` and `YIJIAN_BROWSER_NODE`; without
//! them the test says so and skips.

use std::path::{Path, PathBuf};

use reqwest::StatusCode;

use super::camunda_python::small_restaurant;
use super::server::Server;

/// Chromium and the folder holding playwright-core, or `None` (skip).
pub(super) fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = std::env::var("CHROMIUM")
        .map_or_else(|_| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let modules = std::env::var("YIJIAN_BROWSER_NODE").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-node"),
        PathBuf::from,
    );
    let ready = chromium.exists() && modules.join("node_modules/playwright-core").exists();
    if std::env::var("YIJIAN_BROWSER_NODE").is_ok() {
        assert!(
            ready,
            "YIJIAN_BROWSER_NODE is set but {} or playwright-core in {} is missing",
            chromium.display(),
            modules.display()
        );
    }
    ready.then_some((chromium, modules))
}

/// Runs `tests/browser/<script>` with node in `dir` (the folder holding playwright-core),
/// with `env` besides `YIJIAN_BASE`, `SHOTS` and `CHROMIUM`; asserts that it exited 0 and
/// printed `done`. Returns the screenshots folder.
pub(super) async fn run_script(
    (chromium, dir): (PathBuf, PathBuf),
    script: &str,
    base: &str,
    env: Vec<(&'static str, String)>,
    done: &str,
) -> PathBuf {
    let path = dir.join(script);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser")
            .join(script),
        &path,
    )
    .expect("copy the script");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    let (base, folder) = (base.to_owned(), shots.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(path)
            .current_dir(dir)
            .env("YIJIAN_BASE", base)
            .envs(env)
            .env("SHOTS", &folder)
            .env("CHROMIUM", chromium)
            .output()
    })
    .await
    .expect("joined")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser checks of {script} failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(done), "{stdout}\n{stderr}");
    shots
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_and_progress_pages_work_in_chromium() {
    let Some(browser) = browser() else {
        println!("no Chromium with playwright-core (see .ci/run); skipping");
        return;
    };
    let server = Server::start().await;
    let (s, v) = server
        .post(
            "/v1/cases",
            &server.tokens.window,
            small_restaurant("pages-1"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let case_no = v["case_no"].as_str().expect("case_no").to_owned();
    let code = v["progress_code"].as_str().expect("code").to_owned();
    super::progress::ask_for_floor_plan(
        &server,
        &case_no,
        "<img src=x onerror=alert(1)> 合伙人李四(32010619900101123X)未签字",
    )
    .await;

    let shots = run_script(
        browser,
        "public.mjs",
        &server.base,
        vec![("YIJIAN_CASE", case_no), ("YIJIAN_CODE", code)],
        "browser pages: done",
    )
    .await;
    for png in ["guide.png", "progress.png"] {
        assert!(shots.join(png).exists(), "{png} was saved");
    }
    server.stop().await;
}
