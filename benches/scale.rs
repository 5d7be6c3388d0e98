//! Scale: a node on a store of a million closed and a hundred thousand open cases starts
//! without reading them, and answers fetch, search and the warning board quickly.
//!
//! Run with: `cargo bench --bench scale` (options after `--`: `--closed 1000000 --open
//! 100000 --real 2000 --samples 200`; PostgreSQL too when `DATABASE_URL` is set).
//!
//! - **seed**: `--real` open bundle-5 cases created through the engine (their five units
//!   ready in the queues of departments a..e), then synthetic rows by SQL to bring the
//!   store to `--closed` closed and `--open` open cases: case rows (statuses, warnings,
//!   regions spread over 13 cities) and five task rows each (decided for closed cases;
//!   leased to a worker far into the future for open ones, so they sit in the queues'
//!   index without being fetchable), each with its kind (a row without one would be
//!   rewritten at start, as a row written before kinds is). Synthetic cases have no events:
//!   no node reads them.
//! - **ready**: a `yijian serve` process (the release binary) on that store, from spawn to
//!   `/readyz` answering 200; its resident memory (`VmRSS`) then, and after the samples.
//! - **p50 / p99** over `--samples` requests each, over HTTP on loopback: `fetch` (10 tasks
//!   of department `a`, no wait), a case search (`status=completed`, 50 a page, with its
//!   total), the same search's keyset page 100 deep (`before=`), and the warning board
//!   (`warning=red`), the console board's counts (`GET /v1/board`, whole store and one
//!   city), and `/healthz` as the floor of an HTTP answer (ratios printed).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};
use yijian::engine::Engine;
use yijian_engine::{Submission, SubmitRequest};
use yijian_store_sql::{SqlOptions, SqlStore};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BUNDLE5: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/data/bundle-5.yaml"
));

fn num(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn exec(db: &DatabaseConnection, sql: &str) {
    let b = db.get_database_backend();
    if let Err(e) = db
        .execute_raw(Statement::from_string(b, sql.to_owned()))
        .await
    {
        panic!("seed: {e}\n{sql}");
    }
}

/// Synthetic cases `from..to` (`closed` or open), with five task rows each.
async fn synthetic(db: &DatabaseConnection, from: u64, to: u64, closed: bool) {
    const CHUNK: u64 = 50_000;
    let pg = db.get_database_backend() == DbBackend::Postgres;
    let mut at = from;
    while at < to {
        let end = (at + CHUNK).min(to);
        // n → a case number, a creation time (one a second, in number order), a status.
        let series = if pg {
            format!("SELECT g AS n FROM generate_series({at}, {}) g", end - 1)
        } else {
            format!(
                "WITH RECURSIVE s(n) AS (SELECT {at} UNION ALL SELECT n + 1 FROM s WHERE n < {}) SELECT n FROM s",
                end - 1
            )
        };
        let pad = |e: &str| {
            if pg {
                format!("lpad(({e})::text, 8, '0')")
            } else {
                format!("substr('00000000' || ({e}), -8, 8)")
            }
        };
        let city = pad("n % 13 + 1");
        let no = pad("n");
        let (status, warning) = if closed {
            (
                "CASE n % 10 WHEN 0 THEN 'refused' WHEN 1 THEN 'withdrawn' ELSE 'completed' END",
                "'green'",
            )
        } else {
            (
                "'running'",
                "CASE n % 20 WHEN 0 THEN 'red' WHEN 1 THEN 'yellow' ELSE 'green' END",
            )
        };
        let closed_sql = if closed { "TRUE" } else { "FALSE" };
        let created = if pg {
            "to_char(timestamp '2020-01-01' + n * interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS') || '.000000000Z'".to_owned()
        } else {
            "strftime('%Y-%m-%dT%H:%M:%S', 1577836800 + n, 'unixepoch') || '.000000000Z'".to_owned()
        };
        let sql = format!(
            "INSERT INTO cases (case_no, bundle, version, region, status, closed, event_count, \
             accepted_at, idempotency_key, created_at, created_events, next_timer_at, \
             timer_held_until, warning, due_at) \
             SELECT 'SYN-' || {no}, 'bundle-5', 1, '32' || substr({city}, 7, 2) || '06', {status}, \
             {closed_sql}, 0, NULL, NULL, {created}, 0, NULL, NULL, {warning}, NULL FROM ({series}) q"
        );
        exec(db, &sql).await;
        for (i, dep) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let (state, ready, locked) = if closed {
                ("'approved'", "NULL", "NULL")
            } else {
                (
                    "'dispatched'",
                    "'2026-01-01T00:00:00.000000000Z'",
                    "'9999-12-30T00:00:00.000000000Z'",
                )
            };
            let sql = format!(
                "INSERT INTO tasks (case_no, unit, department, kind, region, state, ready_at, \
                 free_at, lease_owner, lease_token, due_at, warning, pushed) \
                 SELECT 'SYN-' || {no}, '{{\"task\":{i}}}', '{dep}', '{dep}', \
                 '32' || substr({city}, 7, 2) || '06', {state}, {ready}, \
                 {locked}, NULL, NULL, NULL, {warning}, FALSE FROM ({series}) q"
            );
            exec(db, &sql).await;
        }
        at = end;
    }
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn run(label: &str, url: &str, dir: &std::path::Path) {
    let schema: Option<&str> = None;
    let (closed, open, real, samples) = (
        num("--closed", 1_000_000),
        num("--open", 100_000),
        num("--real", 2_000),
        num("--samples", 200) as usize,
    );
    let options = match schema {
        Some(s) => SqlOptions::default().schema(s),
        None => SqlOptions::default(),
    };
    let started = Instant::now();
    {
        let store = SqlStore::connect_with(url, options.clone())
            .await
            .expect("connect");
        let engine = Engine::builder(store).build().await.expect("engine");
        engine.deploy(BUNDLE5).await.expect("deploy");
        for _ in 0..real {
            engine
                .submit(SubmitRequest {
                    bundle: "bundle-5".into(),
                    submission: Submission {
                        region: "320106".into(),
                        ..Submission::default()
                    },
                    ..SubmitRequest::default()
                })
                .await
                .expect("submit");
        }
        engine.shutdown().await;
    }
    let mut connect = sea_orm::ConnectOptions::new(url);
    connect.sqlx_logging(false);
    if let Some(s) = schema {
        connect.set_schema_search_path(s);
    }
    let db = Database::connect(connect).await.expect("raw connection");
    synthetic(&db, 0, closed, true).await;
    synthetic(&db, closed, closed + open.saturating_sub(real), false).await;
    if db.get_database_backend() == DbBackend::Postgres {
        exec(&db, "ANALYZE").await;
    } else {
        exec(&db, "ANALYZE").await;
        exec(&db, "PRAGMA wal_checkpoint(TRUNCATE)").await;
    }
    println!(
        "{label}: seeded {closed} closed + {open} open cases ({real} real) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(db);

    // The node: a process of the release binary.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let db_url = url.to_owned();
    let bundles = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data");
    let spawned = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_yijian"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            &db_url,
        ])
        .arg("--bundles")
        .arg(&bundles)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn yijian serve");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(spawned.elapsed() < Duration::from_secs(120), "not ready");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ready = spawned.elapsed();
    let rss_ready = rss_mib(child.id());
    let tokens: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("yijian-dev-tokens.json")).expect("tokens"),
    )
    .expect("tokens json");
    let sup = tokens["supervisor"]
        .as_str()
        .expect("supervisor")
        .to_owned();
    let dep_a = tokens["departments"]["a"].as_str().expect("a").to_owned();

    let time = async |method: reqwest::Method, path: String, token: &str, body: Option<Value>| {
        let t = Instant::now();
        let mut req = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        let v: Value = r.json().await.expect("json");
        (t.elapsed(), v)
    };
    let mut fetch = Vec::new();
    let mut leased = 0;
    for _ in 0..samples {
        let (d, v) = time(
            reqwest::Method::POST,
            "/v1/departments/a/tasks/fetch".into(),
            &dep_a,
            Some(json!({"max": 10, "wait": "0s", "worker": "bench"})),
        )
        .await;
        leased += v["tasks"].as_array().map_or(0, Vec::len);
        fetch.push(d);
    }
    let mut search = Vec::new();
    let mut next = None;
    for _ in 0..samples {
        let (d, v) = time(
            reqwest::Method::GET,
            "/v1/cases?status=completed&per_page=50".into(),
            &sup,
            None,
        )
        .await;
        next = v["next"].as_str().map(str::to_owned);
        search.push(d);
    }
    // A page 100 deep by keyset.
    let mut deep = Vec::new();
    let mut before = next.expect("a full first page");
    for _ in 0..samples.min(100) {
        let (d, v) = time(
            reqwest::Method::GET,
            format!("/v1/cases?status=completed&per_page=50&before={before}"),
            &sup,
            None,
        )
        .await;
        before = v["next"].as_str().expect("next").to_owned();
        deep.push(d);
    }
    let mut board = Vec::new();
    for _ in 0..samples {
        let (d, _) = time(
            reqwest::Method::GET,
            "/v1/cases?warning=red&per_page=50".into(),
            &sup,
            None,
        )
        .await;
        board.push(d);
    }
    // The console's board: counts of warned cases and units by department (GET /v1/board),
    // for the whole province and for one city; and /healthz, the floor of an HTTP answer.
    let mut counts = Vec::new();
    let mut city = Vec::new();
    let mut floor = Vec::new();
    for _ in 0..samples {
        let (d, _) = time(reqwest::Method::GET, "/v1/board".into(), &sup, None).await;
        counts.push(d);
        let (d, _) = time(
            reqwest::Method::GET,
            "/v1/board?region=3201".into(),
            &sup,
            None,
        )
        .await;
        city.push(d);
        let (d, _) = time(reqwest::Method::GET, "/healthz".into(), &sup, None).await;
        floor.push(d);
    }
    let (metrics, _) = {
        let t = Instant::now();
        let r = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics");
        let _ = r.text().await;
        (t.elapsed(), ())
    };
    let rss_after = rss_mib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{label}: ready in {:.0} ms; resident {rss_ready:.1} MiB at ready, {rss_after:.1} MiB after the samples",
        ms(ready)
    );
    for (name, v) in [
        ("fetch (10, leased)", fetch),
        ("search status=completed, page 1 + total", search),
        ("search keyset pages 2..101", deep),
        ("board warning=red + total", board),
        ("board counts (GET /v1/board)", counts.clone()),
        ("board counts, one city (?region=3201)", city.clone()),
        ("/healthz (floor)", floor.clone()),
    ] {
        println!(
            "{label}: {name:<42} p50 {:>7.2} ms  p99 {:>7.2} ms  ({} samples)",
            ms(pct(v.clone(), 0.5)),
            ms(pct(v.clone(), 0.99)),
            v.len()
        );
    }
    println!(
        "{label}: board counts p50 = {:.1}x the /healthz p50; one city {:.1}x",
        ms(pct(counts, 0.5)) / ms(pct(floor.clone(), 0.5)),
        ms(pct(city, 0.5)) / ms(pct(floor, 0.5))
    );
    println!(
        "{label}: {leased} tasks leased by the fetches; one /metrics scrape {:.0} ms",
        ms(metrics)
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("yijian.db").display()
        );
        if std::env::args().all(|a| a != "--postgres-only") {
            run("sqlite", &url, dir.path()).await;
        }
        if let Ok(pg) = std::env::var("DATABASE_URL")
            && !pg.is_empty()
        {
            // A database of its own (the service uses the default schema).
            let name = format!("yj_scale_{}", std::process::id());
            let admin = Database::connect(&pg).await.expect("connect");
            exec(&admin, &format!("CREATE DATABASE \"{name}\"")).await;
            let base = pg.rsplit_once('/').map_or(pg.as_str(), |(b, _)| b);
            let dir = tempfile::tempdir().expect("temp dir");
            run("postgres", &format!("{base}/{name}"), dir.path()).await;
            exec(
                &admin,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await;
        }
    });
}
