//! A migration interrupted by SIGKILL resumes without migrating a case twice: `yijian
//! migrate --run` on a SQLite file of 400 running 二手房 cases is killed three times at
//! different points and run again to the end. Every case then runs version 2 with exactly
//! one `case_migrated` event, and every audit chain verifies.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use yijian::engine::calendar::Calendars;
use yijian::engine::command::Submission;
use yijian::engine::ids::CaseNo;
use yijian::engine::store::EventLog;
use yijian::engine::{Engine, EventKind, MaterialRef, SubmitRequest};
use yijian_store_sql::SqlStore;

const CASES: usize = 400;

fn migrate(url: &str, v2: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yijian"));
    cmd.args([
        "migrate",
        "house-transfer",
        "--from",
        "1",
        "--to",
        "2",
        "--map",
        "water=water_supply",
        "--run",
        "--db",
        url,
        "--deploy",
    ])
    .arg(v2)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_migration_resumes_and_moves_no_case_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("yijian.db").display()
    );
    let store = SqlStore::connect(&url).await.expect("store");
    let engine = Engine::builder(store.clone())
        .calendars(Calendars::builtin().expect("calendars"))
        .build()
        .await
        .expect("engine");
    let v1 = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("definitions/catalog/house-transfer.yaml"),
    )
    .expect("catalog");
    engine.deploy(&v1).await.expect("deploy v1");
    let app = super::api::migrations::house_v2_application();
    let mut cases = Vec::with_capacity(CASES);
    for i in 0..CASES {
        let view = engine
            .submit(SubmitRequest {
                bundle: "house-transfer".into(),
                version: None,
                submission: Submission {
                    region: "320102".into(),
                    form: app.clone(),
                    materials: [(
                        "sale_contract".to_owned(),
                        MaterialRef {
                            name: "contract.pdf".into(),
                            sha256: "a".repeat(64),
                            uri: None,
                        },
                    )]
                    .into(),
                    ..Submission::default()
                },
                idempotency_key: Some(format!("kill-{i}")),
                actor: None,
            })
            .await
            .expect("submitted");
        cases.push(view.case_no);
    }
    engine.shutdown().await;
    drop(engine);
    drop(store);
    let v2 = dir.path().join("house-transfer-v2.yaml");
    std::fs::write(&v2, super::api::migrations::house_v2()).expect("v2 file");
    // Three runs killed after 40, 90 and 150 more cases were reported, then one to the end.
    let mut reported = 0;
    for after in [40, 90, 150] {
        let mut child = migrate(&url, &v2).spawn().expect("yijian migrate");
        let out = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(out).lines();
        let mut seen = 0;
        while seen < after {
            match lines.next() {
                Some(Ok(l)) => {
                    assert!(l.starts_with("migrated"), "{l}");
                    seen += 1;
                }
                _ => break,
            }
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        reported += seen;
        assert_eq!(seen, after, "the run ended before it was killed");
    }
    let last = migrate(&url, &v2).output().expect("yijian migrate");
    assert!(last.status.success());
    let text = String::from_utf8_lossy(&last.stdout);
    let rest = text.lines().filter(|l| l.starts_with("migrated")).count();
    assert!(
        text.lines().all(|l| l.starts_with("migrated")),
        "only cases not yet moved are listed: {text}"
    );
    // Cases moved after a run's last read line and before its kill are not listed again.
    assert!(reported + rest <= CASES, "{reported} + {rest} > {CASES}");
    assert!(
        rest < CASES - 40,
        "the resumed runs did not redo the first ones"
    );
    let store = SqlStore::connect(&url).await.expect("store");
    for no in &cases {
        let (summary, events) = store
            .read(&CaseNo::new(no.as_str()))
            .await
            .expect("read")
            .expect("case");
        let migrated = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::CaseMigrated { .. }))
            .count();
        assert_eq!((migrated, summary.version), (1, 2), "case {no}");
    }
    let breaks = store.verify(None).await.expect("verify");
    assert!(breaks.is_empty(), "{breaks:?}");
}
