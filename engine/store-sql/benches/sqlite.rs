//! bundle-5 on the SQL store: engine throughput against a raw insert ceiling measured in the
//! same run, and bytes on disk per completed case. SQLite always; PostgreSQL too when
//! `DATABASE_URL` is set.
//!
//! Run with: `cargo bench -p yijian-store-sql --bench sqlite`
//! (options after `--`: `--cases 20000 --window 100 --max-delay-us 1000 --max-batch 512
//! --synchronous normal|full`)
//!
//! - **engine**: submit → 5 parallel department tasks → join → end, as in the root
//!   `benches/engine.rs`: in-process adapters approve each task as soon as it is dispatched;
//!   `--window` submitters keep that many cases in flight on a 2-worker tokio runtime. Every
//!   command is group-committed to the database before it is answered.
//! - **raw ceiling**: the same rows — each case's final row and every one of its events, with
//!   the same bodies and hashes — written by a minimal loop of multi-row INSERTs, 100 cases
//!   per transaction, with the same `synchronous` setting. No serialisation, hashing,
//!   version checks or intermediate case updates: what the database alone can take.
//! - **minimal-write ceiling**: the least a bundle-5 case needs — 12 small rows (one per
//!   state change, a few dozen bytes each), 100 cases per transaction, same durability —
//!   the ceiling issue 17 measures the engine against.
//! - Engine and ceilings run alternately, three rounds each; the figures are medians.
//! - **bytes/case**: the database's size on disk (SQLite: the file after a WAL checkpoint;
//!   PostgreSQL: the tables with their indexes) divided by the cases in it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use serde_json::json;
use yijian_engine::store::EventLog;
use yijian_engine::{
    Adapter, CaseNo, Decision, Dispatch, Engine, Event, Replier, Submission, SubmitRequest, Work,
};
use yijian_store_sql::{SqlOptions, SqlStore, Synchronous};

// The same allocator as the `yijian` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BUNDLE5: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../benches/data/bundle-5.yaml"
));

/// Approves every task at once.
#[derive(Debug)]
struct Approve;

impl Adapter for Approve {
    fn dispatch(&self, _work: &Work, _reply: &Replier) -> Dispatch {
        Dispatch::Decided(Decision::Approve(json!({"licence_no": "X"})))
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn num(name: &str, default: u64) -> u64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Settings {
    cases: u64,
    window: u64,
    options: SqlOptions,
    synchronous: Synchronous,
}

fn settings() -> Settings {
    let synchronous = match arg("--synchronous").as_deref() {
        Some("full") => Synchronous::Full,
        _ => Synchronous::Normal,
    };
    let options = SqlOptions::default()
        .synchronous(synchronous)
        .max_batch(num("--max-batch", 512) as usize)
        .max_delay(Duration::from_micros(num("--max-delay-us", 1000)));
    Settings {
        cases: num("--cases", 20_000),
        window: num("--window", 100),
        options,
        synchronous,
    }
}

/// An engine on `store` with bundle-5 deployed and every department approving at once.
async fn node(store: SqlStore) -> Engine<SqlStore> {
    let e = Engine::builder(store).build().await.expect("engine");
    e.deploy(BUNDLE5).await.expect("deploy");
    for d in ["a", "b", "c", "d", "e"] {
        e.register_adapter(d, Arc::new(Approve));
    }
    e
}

/// `cases` bundle-5 cases through `nodes`, `window` submitters spread over them in turn:
/// cases/s, and one completed case (to copy its rows).
async fn drive(nodes: &[Engine<SqlStore>], cases: u64, window: u64) -> (f64, CaseNo) {
    let next = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..window {
        let (e, next) = (nodes[i as usize % nodes.len()].clone(), next.clone());
        set.spawn(async move {
            let mut last = None;
            while next.fetch_add(1, Ordering::Relaxed) < cases {
                let v = e
                    .submit(SubmitRequest {
                        bundle: "bundle-5".into(),
                        submission: Submission::default(),
                        ..SubmitRequest::default()
                    })
                    .await
                    .expect("submit");
                assert_eq!(v.outcome.as_deref(), Some("completed"));
                last = Some(v.case_no);
            }
            last
        });
    }
    let mut sample = None;
    while let Some(r) = set.join_next().await {
        sample = sample.or(r.expect("submitter"));
    }
    let rate = cases as f64 / t.elapsed().as_secs_f64();
    (rate, sample.expect("at least one case"))
}

/// Engine throughput in cases/s on one node, and one completed case.
async fn engine(store: SqlStore, cases: u64, window: u64) -> (f64, CaseNo) {
    drive(&[node(store).await], cases, window).await
}

/// The rows of one completed case, as stored.
struct Rows {
    case: Vec<Value>,
    events: Vec<Vec<Value>>,
}

async fn rows_of(store: &SqlStore, case_no: &CaseNo) -> Rows {
    let (summary, events) = store.read(case_no).await.expect("read").expect("case");
    let case = vec![
        summary.bundle.to_string().into(),
        i64::from(summary.version).into(),
        summary.region.to_string().into(),
        summary.status.to_string().into(),
        summary.closed.into(),
        (events.len() as i64).into(),
        summary.accepted_at.map(|t| format!("{t:.9}")).into(),
    ];
    let events = events
        .iter()
        .enumerate()
        .map(|(i, e): (usize, &Event)| {
            vec![
                (i as i64 + 1).into(),
                format!("{:.9}", e.at).into(),
                e.kind.name().to_owned().into(),
                serde_json::to_string(e).expect("json").into(),
                "0".repeat(64).into(),
                "f".repeat(64).into(),
            ]
        })
        .collect();
    Rows { case, events }
}

fn insert_sql(backend: DbBackend, table: &str, columns: &str, width: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push(',');
            }
            n += 1;
            match backend {
                DbBackend::Postgres => sql.push_str(&format!("${n}")),
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

/// The raw ceiling in cases/s: the same rows, 100 cases per transaction, multi-row INSERTs.
async fn raw_ceiling(db: &DatabaseConnection, rows: &Rows, cases: u64, prefix: &str) -> f64 {
    const PER_TXN: u64 = 100;
    const EVENTS_PER_STMT: usize = 500;
    let backend = db.get_database_backend();
    let case_cols = "case_no, bundle, version, region, status, closed, event_count, accepted_at";
    let event_cols = "case_no, seq, at, kind, body, prev_hash, hash";
    let t = Instant::now();
    let mut start = 0;
    while start < cases {
        let end = (start + PER_TXN).min(cases);
        let txn = db.begin().await.expect("begin");
        let nos: Vec<String> = (start..end).map(|i| format!("{prefix}-{i}")).collect();
        let mut values = Vec::new();
        for no in &nos {
            values.push(no.clone().into());
            values.extend(rows.case.iter().cloned());
        }
        let sql = insert_sql(backend, "cases", case_cols, 8, nos.len());
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .expect("insert cases");
        let all: Vec<(&String, &Vec<Value>)> = nos
            .iter()
            .flat_map(|no| rows.events.iter().map(move |e| (no, e)))
            .collect();
        for chunk in all.chunks(EVENTS_PER_STMT) {
            let mut values = Vec::with_capacity(chunk.len() * 7);
            for (no, e) in chunk {
                values.push((*no).clone().into());
                values.extend(e.iter().cloned());
            }
            let sql = insert_sql(backend, "events", event_cols, 7, chunk.len());
            txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await
                .expect("insert events");
        }
        txn.commit().await.expect("commit");
        start = end;
    }
    cases as f64 / t.elapsed().as_secs_f64()
}

/// Writes per case of the minimal-write ceiling: one per state change of a bundle-5 case
/// (submitted, accepted, five dispatched, five approved and the close make 13 events; the
/// issue's count is 12 — submission and acceptance are one write at the window).
const MINIMAL_WRITES: usize = 12;

/// The minimal-write ceiling in cases/s: what a bundle-5 case needs at least — 12 small
/// rows (case number, sequence, a 24-byte state word), 100 cases per transaction,
/// multi-row INSERTs, at the same durability. Returns cases/s.
async fn minimal_ceiling(db: &DatabaseConnection, cases: u64) -> f64 {
    const PER_TXN: u64 = 100;
    const ROWS_PER_STMT: usize = 400;
    let backend = db.get_database_backend();
    let suffix = if backend == DbBackend::Sqlite {
        " WITHOUT ROWID"
    } else {
        ""
    };
    db.execute_unprepared(&format!(
        "CREATE TABLE IF NOT EXISTS minimal (case_no TEXT NOT NULL, seq INTEGER NOT NULL, \
         state TEXT NOT NULL, PRIMARY KEY (case_no, seq)){suffix}"
    ))
    .await
    .expect("create minimal");
    let t = Instant::now();
    let mut start = 0;
    while start < cases {
        let end = (start + PER_TXN).min(cases);
        let txn = db.begin().await.expect("begin");
        let all: Vec<(u64, usize)> = (start..end)
            .flat_map(|c| (0..MINIMAL_WRITES).map(move |w| (c, w)))
            .collect();
        for chunk in all.chunks(ROWS_PER_STMT) {
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
            for (c, w) in chunk {
                values.push(format!("M-{c:08}").into());
                values.push((*w as i64).into());
                values.push(format!("task-{w:02}-approved-at-{c:08}").into());
            }
            let sql = insert_sql(backend, "minimal", "case_no, seq, state", 3, chunk.len());
            txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await
                .expect("insert minimal");
        }
        txn.commit().await.expect("commit");
        start = end;
    }
    cases as f64 / t.elapsed().as_secs_f64()
}

fn file_bytes(path: &std::path::Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| {
            let mut p = path.as_os_str().to_owned();
            p.push(s);
            std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
        })
        .sum()
}

async fn sqlite_bytes(url: &str, path: &std::path::Path) -> u64 {
    let db = raw(url).await;
    db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .expect("checkpoint");
    db.close().await.expect("close");
    file_bytes(path)
}

async fn raw(url: &str) -> DatabaseConnection {
    let mut o = sea_orm::ConnectOptions::new(url);
    o.sqlx_logging(false);
    sea_orm::Database::connect(o).await.expect("connect")
}

async fn raw_sqlite(url: &str, synchronous: Synchronous) -> DatabaseConnection {
    let mut o = sea_orm::ConnectOptions::new(url);
    o.sqlx_logging(false).max_connections(1);
    let sync = match synchronous {
        Synchronous::Full => sea_orm::sqlx::sqlite::SqliteSynchronous::Full,
        _ => sea_orm::sqlx::sqlite::SqliteSynchronous::Normal,
    };
    o.map_sqlx_sqlite_opts(move |s| {
        s.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sync)
            .foreign_keys(true)
    });
    sea_orm::Database::connect(o).await.expect("connect")
}

fn report(
    name: &str,
    durability: &str,
    s: &Settings,
    engine: f64,
    ceiling: f64,
    minimal: (f64, u64),
    bytes: (u64, u64),
) {
    println!(
        "bundle-5, {name}, {} cases, {} in flight, {durability}",
        s.cases, s.window
    );
    println!("  engine       {engine:>12.0} cases/s");
    println!("  raw ceiling  {ceiling:>12.0} cases/s");
    println!("  ratio        {:>12.1} %", 100.0 * engine / ceiling);
    println!(
        "  minimal-write ceiling {:>7.0} cases/s ({MINIMAL_WRITES} small rows a case); engine = {:.1} % of it",
        minimal.0,
        100.0 * engine / minimal.0
    );
    println!(
        "  on disk      {:>12.0} bytes/case (engine), {:.0} bytes/case (raw rows), {:.0} bytes/case (minimal rows)",
        bytes.0 as f64 / s.cases as f64,
        bytes.1 as f64 / s.cases as f64,
        minimal.1 as f64 / s.cases as f64
    );
}

/// The engine run's group commits: (transactions, mean commits per transaction).
fn per_transaction(store: &SqlStore) -> (u64, f64) {
    let stats = store
        .commit_stats()
        .expect("the SQL store counts its commits");
    let txns = stats.transactions();
    (txns, stats.commits() as f64 / txns.max(1) as f64)
}

fn report_batches(batches: Vec<(u64, f64)>) {
    let runs: Vec<String> = batches
        .iter()
        .map(|(t, mean)| format!("{t} transactions of {mean:.0} commits"))
        .collect();
    println!("  (group commit: {})", runs.join("; "));
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Rounds of engine and raw ceiling, alternated so that a noisy neighbour hits both.
const ROUNDS: usize = 3;

async fn sqlite(s: &Settings) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut engine_runs, mut raw_runs) = (Vec::new(), Vec::new());
    let (mut engine_bytes, mut raw_bytes, mut events) = (0, 0, 0);
    let (mut minimal_runs, mut minimal_bytes) = (Vec::new(), 0);
    let mut batches = Vec::new();
    for round in 0..ROUNDS {
        let engine_path = dir.path().join(format!("engine-{round}.db"));
        let engine_url = format!("sqlite://{}?mode=rwc", engine_path.display());
        let store = SqlStore::connect_with(&engine_url, s.options.clone())
            .await
            .expect("connect");
        let (rate, sample) = engine(store.clone(), s.cases, s.window).await;
        engine_runs.push(rate);
        batches.push(per_transaction(&store));
        let rows = rows_of(&store, &sample).await;
        events = rows.events.len();
        drop(store);
        engine_bytes = sqlite_bytes(&engine_url, &engine_path).await;

        let raw_path = dir.path().join(format!("raw-{round}.db"));
        let raw_url = format!("sqlite://{}?mode=rwc", raw_path.display());
        // The same schema, migrated by the store.
        drop(SqlStore::connect(&raw_url).await.expect("migrate"));
        let db = raw_sqlite(&raw_url, s.synchronous).await;
        raw_runs.push(raw_ceiling(&db, &rows, s.cases, "R").await);
        db.close().await.expect("close");
        raw_bytes = sqlite_bytes(&raw_url, &raw_path).await;

        let min_path = dir.path().join(format!("minimal-{round}.db"));
        let min_url = format!("sqlite://{}?mode=rwc", min_path.display());
        let db = raw_sqlite(&min_url, s.synchronous).await;
        minimal_runs.push(minimal_ceiling(&db, s.cases).await);
        db.close().await.expect("close");
        minimal_bytes = sqlite_bytes(&min_url, &min_path).await;
    }
    println!("  ({events} events per case; median of {ROUNDS} rounds)");
    report_batches(batches);
    report(
        "SQLite file",
        &format!("synchronous={:?}", s.synchronous),
        s,
        median(engine_runs),
        median(raw_runs),
        (median(minimal_runs), minimal_bytes),
        (engine_bytes, raw_bytes),
    );
}

/// One bigint a PostgreSQL query answers (a relation size).
async fn pg_size(db: &DatabaseConnection, sql: String) -> u64 {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("size")
        .expect("row");
    let n: i64 = row.try_get_by_index(0).expect("size");
    n as u64
}

async fn pg_bytes(db: &DatabaseConnection, schema: &str) -> u64 {
    pg_size(
        db,
        format!(
            "SELECT (pg_total_relation_size('\"{schema}\".cases') \
             + pg_total_relation_size('\"{schema}\".events'))::bigint"
        ),
    )
    .await
}

/// The server's own durability settings (the store does not change them).
async fn server_durability(url: &str) -> String {
    let db = raw(url).await;
    let mut out = Vec::new();
    for setting in ["synchronous_commit", "fsync"] {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SHOW {setting}"),
            ))
            .await
            .expect("show")
            .expect("row");
        let value: String = row.try_get_by_index(0).expect("setting");
        out.push(format!("{setting}={value}"));
    }
    out.join(", ")
}

async fn postgres(s: &Settings, url: &str) {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (mut engine_runs, mut raw_runs) = (Vec::new(), Vec::new());
    let (mut minimal_runs, mut minimal_bytes) = (Vec::new(), 0);
    let mut bytes = (0, 0);
    let mut batches = Vec::new();
    let durability = server_durability(url).await;
    for round in 0..ROUNDS {
        let engine_schema = format!("yj_bench_engine_{stamp}_{round}");
        let raw_schema = format!("yj_bench_raw_{stamp}_{round}");
        let store = SqlStore::connect_with(url, s.options.clone().schema(&engine_schema))
            .await
            .expect("connect");
        let (rate, sample) = engine(store.clone(), s.cases, s.window).await;
        engine_runs.push(rate);
        batches.push(per_transaction(&store));
        let rows = rows_of(&store, &sample).await;
        drop(store);
        drop(
            SqlStore::connect_with(url, SqlOptions::default().schema(&raw_schema))
                .await
                .expect("migrate"),
        );
        let mut o = sea_orm::ConnectOptions::new(url);
        o.sqlx_logging(false)
            .max_connections(1)
            .set_schema_search_path(raw_schema.clone());
        let db = sea_orm::Database::connect(o).await.expect("connect");
        raw_runs.push(raw_ceiling(&db, &rows, s.cases, "R").await);
        minimal_runs.push(minimal_ceiling(&db, s.cases).await);
        db.execute_unprepared("VACUUM ANALYZE").await.ok();
        minimal_bytes = pg_size(
            &db,
            format!("SELECT pg_total_relation_size('\"{raw_schema}\".minimal')::bigint"),
        )
        .await;
        bytes = (
            pg_bytes(&db, &engine_schema).await,
            pg_bytes(&db, &raw_schema).await,
        );
        for schema in [&engine_schema, &raw_schema] {
            db.execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .await
                .expect("drop schema");
        }
    }
    // Two nodes on one database: two stores (two writers, two pools) on one schema, the
    // window split between them, in this one process (so on the same two cores).
    let schema = format!("yj_bench_two_{stamp}");
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let store = SqlStore::connect_with(url, s.options.clone().schema(&schema))
            .await
            .expect("connect");
        nodes.push(node(store).await);
    }
    let (together, _) = drive(&nodes, s.cases, s.window).await;
    println!("  two nodes on one PostgreSQL schema (one process): {together:.0} cases/s together");
    drop(nodes);
    if let Ok(db) = sea_orm::Database::connect(url).await {
        let _ = db
            .execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await;
    }
    report_batches(batches);
    report(
        "PostgreSQL",
        &durability,
        s,
        median(engine_runs),
        median(raw_runs),
        (median(minimal_runs), minimal_bytes),
        bytes,
    );
}

fn main() {
    let s = settings();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(sqlite(&s));
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => rt.block_on(postgres(&s, &url)),
        _ => println!("PostgreSQL: DATABASE_URL is not set; skipped"),
    }
}
