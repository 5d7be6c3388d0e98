//! The child process of the crash test (`tests/recovery.rs`): runs cases on a SQLite file
//! with a simulated back office, writing every acknowledged submission and completion to
//! a journal, until it is killed — or until all its cases are done.
//!
//! Run with: `cargo run --example crash_child -- sqlite://crash.db?mode=rwc journal.txt 300`

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use yijian::engine::{
    Action, Actor, Command, Decision, Engine, FetchRequest, Submission, SubmitRequest,
};
use yijian_store_sql::SqlStore;

const BUNDLE: &str = r#"
yijian: 1
id: crash
version: 1
title: 崩溃测试
time_limit: 5wd
tasks:
  licence: {title: 营业执照, department: market, output: {no: string}}
  seal: {title: 印章刻制, department: police, after: [licence]}
  tax: {title: 税务登记, department: tax, after: [licence]}
"#;

/// Appends one acknowledged fact and makes it durable before going on.
fn journal(file: &std::sync::Mutex<std::fs::File>, line: &str) -> anyhow::Result<()> {
    let mut f = file
        .lock()
        .map_err(|_| anyhow::anyhow!("journal lock poisoned"))?;
    writeln!(f, "{line}")?;
    f.sync_data()?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, journal_path, n] = args.as_slice() else {
        anyhow::bail!("usage: crash_child DB_URL JOURNAL N_CASES");
    };
    let n: usize = n.parse()?;
    let store = SqlStore::connect(url).await?;
    let engine = Engine::builder(store.clone()).build().await?;
    engine.deploy(BUNDLE).await?;
    // The in-process back offices of police and tax decide at once.
    for dep in ["police", "tax"] {
        engine.register_adapter(
            dep,
            Arc::new(yijian::adapters::in_process::InProcess::new(|_| {
                Decision::Approve(json!(null))
            })),
        );
    }
    engine.recover().await?;
    let file = Arc::new(std::sync::Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(journal_path)?,
    ));
    let timers = {
        let e = engine.clone();
        tokio::spawn(async move { e.run_timers(std::future::pending()).await })
    };
    // The market back office: fetch, approve under the lease, journal what was acknowledged.
    let worker = {
        let (e, file) = (engine.clone(), file.clone());
        tokio::spawn(async move {
            loop {
                let req = FetchRequest {
                    department: "market".into(),
                    region: None,
                    max: 20,
                    lease: Duration::from_secs(2),
                    wait: Duration::from_millis(200),
                    worker: "market-1".into(),
                    kinds: Vec::new(),
                };
                let Ok(batch) = e.fetch(&req).await else {
                    continue;
                };
                for w in batch {
                    let name = w.work.name();
                    let cmd = Command::new(
                        Actor::Department("market".into()),
                        Action::Approve {
                            task: w.work.task,
                            output: json!({"no": format!("L-{}", w.work.case_no)}),
                        },
                    )
                    .with_lease(w.lease_token);
                    if e.execute(&w.work.case_no, cmd).await.is_ok() {
                        let _ = journal(
                            &file,
                            &format!("C {} {name} {}", w.work.case_no, w.lease_token),
                        );
                    }
                }
            }
        })
    };
    for i in 0..n {
        let req = SubmitRequest {
            bundle: "crash".into(),
            submission: Submission::default(),
            idempotency_key: Some(format!("k{i}")),
            ..SubmitRequest::default()
        };
        let case = engine.submit(req).await?;
        journal(&file, &format!("S k{i} {}", case.case_no))?;
    }
    // Done when every case is closed.
    loop {
        if yijian::engine::store::CaseStore::open_cases(&store)
            .await?
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.abort();
    timers.abort();
    Ok(())
}
