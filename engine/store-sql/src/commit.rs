//! Group commit: one writer task writes many cases' commits in one transaction.
//!
//! `append` turns a [`Commit`] into rows at call time (serialising the events on the
//! caller's thread) and pushes it into an unbounded channel; the channel's order is the
//! order of the calls, which is what the `EventLog` contract asks. The writer drains the
//! channel into batches of at most `max_batch` commits (waiting at most `max_delay` after
//! the first commit for more — on SQLite at NORMAL only when it found the channel empty),
//! writes a batch in one transaction, and answers each caller only once that transaction
//! has committed.
//!
//! In a batch, each commit's `expected_version` is checked against the case's version: the
//! stored `event_count`, or the version left by an earlier commit of the same case in the
//! same batch. A mismatch is answered `Conflict` and that commit alone is skipped. The case
//! row is then written with a version check (`UPDATE … WHERE event_count = expected`, or an
//! insert that does nothing if the case number or idempotency key is taken): if another
//! node sharing the database moved the case meanwhile, the statement changes no row, the
//! commit is answered `Conflict`, and later commits of that case in the batch too (they were
//! decided on top of it). A commit decided on top of a refused one (same lineage, higher
//! version) is refused whatever batch it comes in: the writer remembers refusals
//! ([`Refusals`]). Only then are the events of every accepted commit inserted, with
//! multi-row INSERTs.

mod batch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sea_orm::{
    DatabaseConnection, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, warn};
use yijian_engine::CaseNo;
use yijian_engine::store::{Commit, CommitStats, Refusals, Result, StoreError};

use crate::entity::case;
use crate::error;
use crate::store::text_of;

/// A commit turned into rows, waiting for the writer.
#[derive(Debug)]
pub(crate) struct Job {
    case_no: CaseNo,
    expected: u64,
    /// The lineage of the state the commit was decided on (see `Commit::lineage`).
    lineage: u64,
    /// The case row after the commit.
    row: case::Model,
    events: Vec<Body>,
    /// The rows of the units the commit changed.
    tasks: Vec<crate::query::task::Row>,
    /// Keys of the units whose rows go (a migration).
    removed: Vec<String>,
    reply: oneshot::Sender<Result<()>>,
}

/// One serialised event.
#[derive(Debug)]
struct Body {
    at: String,
    kind: &'static str,
    json: String,
}

/// Serialises a commit (on the caller's thread) into a job for the writer.
pub(crate) fn prepare(commit: Commit, reply: oneshot::Sender<Result<()>>) -> Result<Job> {
    let Commit {
        case_no,
        expected_version,
        lineage,
        events,
        summary,
        idempotency_key,
        tasks,
        removed_tasks,
    } = commit;
    let events = events
        .iter()
        .map(|e| {
            Ok(Body {
                at: text_of(e.at),
                kind: e.kind.name(),
                json: serde_json::to_string(e).map_err(|err| StoreError::Corrupt {
                    message: format!("case {case_no}: an event does not serialise: {err}"),
                })?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let count = expected_version + events.len() as u64;
    // What the case's creation was; only a creating commit's row is inserted, so later
    // commits' values are never written.
    let created_events = if expected_version == 0 {
        Some(i64::try_from(count).map_err(|_| error::out_of_range("event count", count))?)
    } else {
        None
    };
    let created_at = events.first().map(|e| e.at.clone()).unwrap_or_default();
    // The version is the number of events; the store keeps it so even if the summary
    // disagrees.
    let row = case::Model {
        case_no: case_no.to_string(),
        bundle: summary.bundle.to_string(),
        version: i64::from(summary.version),
        region: summary.region.to_string(),
        status: summary.status.into_owned(),
        closed: summary.closed,
        event_count: i64::try_from(count).map_err(|_| error::out_of_range("event count", count))?,
        accepted_at: summary.accepted_at.map(text_of),
        idempotency_key,
        created_at,
        created_events,
        next_timer_at: summary.next_timer.map(text_of),
        timer_held_until: None,
        warning: summary.warning.as_str().to_owned(),
        due_at: summary.due.map(text_of),
        channel: summary.channel.as_deref().map(str::to_owned),
    };
    let tasks = tasks
        .iter()
        .map(|t| {
            crate::query::task::Row::of(&case_no, t.region.as_deref().unwrap_or(&summary.region), t)
        })
        .collect::<Result<Vec<_>>>()?;
    let removed = removed_tasks
        .into_iter()
        .map(crate::query::task::unit_key)
        .collect::<Result<Vec<_>>>()?;
    Ok(Job {
        case_no,
        expected: expected_version,
        lineage,
        row,
        events,
        tasks,
        removed,
        reply,
    })
}

/// Group-commit settings.
#[derive(Debug, Clone)]
pub(crate) struct Batching {
    pub(crate) max_batch: usize,
    pub(crate) max_delay: Duration,
    /// Also wait `max_delay` when commits were already queued: where every transaction
    /// costs a flush (PostgreSQL, SQLite with `synchronous` FULL or EXTRA), fewer larger
    /// transactions win; with SQLite at NORMAL a busy writer writes at once.
    pub(crate) gather_when_busy: bool,
    /// PostgreSQL: the `NOTIFY` channel telling other nodes of units made ready.
    pub(crate) notify: Option<String>,
}

/// The writer's counts, shared with the store for metrics.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    // std Mutex: one small update per transaction and a copy per scrape, never across an
    // await; it keeps the histogram's buckets, sum and count consistent with each other.
    inner: Mutex<CommitStats>,
}

impl Stats {
    fn record(&self, commits: usize) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(commits as u64);
    }

    /// The counts so far.
    pub(crate) fn snapshot(&self) -> CommitStats {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The writer task: runs until every sender is dropped and the channel is empty. Each
/// committed transaction is counted in `stats`, with its number of commits (refused ones
/// included: they were part of the batch).
pub(crate) async fn run(
    db: DatabaseConnection,
    mut rx: mpsc::UnboundedReceiver<Job>,
    batching: Batching,
    stats: Arc<Stats>,
) {
    let mut jobs = Vec::with_capacity(batching.max_batch);
    let mut heads = Heads::default();
    let mut refusals = Refusals::default();
    loop {
        // Commits already queued when the writer comes back arrived while it was busy: with
        // cheap transactions the writer is the bottleneck, and waiting for more would only
        // idle it (SQLite at NORMAL: +7 % bundle-5 cases/s). Where each transaction is
        // flushed, bigger batches win and the writer gathers anyway (PostgreSQL measured
        // 4.5 % slower without the wait).
        let idle = rx.is_empty();
        if rx.recv_many(&mut jobs, batching.max_batch).await == 0 {
            return;
        }
        if (idle || batching.gather_when_busy)
            && jobs.len() < batching.max_batch
            && !batching.max_delay.is_zero()
        {
            let deadline = Instant::now() + batching.max_delay;
            while jobs.len() < batching.max_batch {
                let room = batching.max_batch - jobs.len();
                match tokio::time::timeout_at(deadline, rx.recv_many(&mut jobs, room)).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        let started = std::time::Instant::now();
        let n = jobs.len();
        match write(
            &db,
            &jobs,
            &mut heads,
            &mut refusals,
            batching.notify.as_deref(),
        )
        .await
        {
            Ok(outcomes) => {
                stats.record(n);
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    // A caller that stopped waiting still had its commit written (or not).
                    let _ = job.reply.send(outcome);
                }
            }
            Err(e) => {
                warn!(commits = n, error = %e, "a group commit failed; nothing of it was written");
                for job in jobs.drain(..) {
                    // Whatever was decided on top of these is refused too.
                    refusals.refused(&job.row.case_no, job.lineage, job.expected);
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
        debug!(
            commits = n,
            elapsed_us = started.elapsed().as_micros() as u64,
            "group commit"
        );
    }
}

/// The heads (version and last hash) of the cases this writer wrote last, so that a batch
/// need not read them back. Only ever filled from this writer's own committed writes, and
/// trusted only when a commit expects exactly the cached version: the version-checked
/// UPDATE still catches another node having moved the case since, and anything else is read
/// from the database.
#[derive(Debug, Default)]
struct Heads {
    map: HashMap<String, batch::At>,
}

impl Heads {
    /// Beyond this many open cases the cache starts again empty (a miss costs one read).
    const MAX: usize = 100_000;

    fn get(&self, case_no: &str) -> Option<&batch::At> {
        self.map.get(case_no)
    }

    fn apply(&mut self, changes: Vec<(String, Option<batch::At>)>) {
        if self.map.len() + changes.len() > Heads::MAX {
            self.map.clear();
        }
        for (case_no, head) in changes {
            match head {
                Some(h) => {
                    self.map.insert(case_no, h);
                }
                None => {
                    self.map.remove(&case_no);
                }
            }
        }
    }
}

/// Writes one batch in one transaction: the outcome of each commit, or why the whole batch
/// failed (then nothing was written). A batch PostgreSQL aborted to break a deadlock with
/// another node wrote nothing either, and is tried again.
async fn write(
    db: &DatabaseConnection,
    jobs: &[Job],
    heads: &mut Heads,
    refusals: &mut Refusals,
    notify: Option<&str>,
) -> Result<Vec<Result<()>>> {
    const ATTEMPTS: u32 = 3;
    let mut attempt = 1;
    loop {
        match write_once(db, jobs, heads, refusals, notify).await {
            Err(Abort::Db(_, e)) if attempt < ATTEMPTS && error::is_deadlock(&e) => {
                warn!(attempt, error = %e, "a group commit met a deadlock; trying it again");
                attempt += 1;
            }
            Err(Abort::Db(what, e)) => return Err(error::db(what, e)),
            Err(Abort::Store(e)) => return Err(e),
            Ok((outcomes, changes)) => {
                heads.apply(changes);
                return Ok(outcomes);
            }
        }
    }
}

async fn write_once(
    db: &DatabaseConnection,
    jobs: &[Job],
    heads: &Heads,
    refusals: &mut Refusals,
    notify: Option<&str>,
) -> std::result::Result<batch::Written, Abort> {
    // IMMEDIATE: take SQLite's write lock at BEGIN, so the transaction never has to upgrade
    // a read lock (which fails at once instead of waiting). PostgreSQL ignores it.
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await
        .map_err(|e| Abort::Db("append: begin", e))?;
    match batch::apply(&txn, jobs, heads, refusals, notify).await {
        Ok(written) => {
            txn.commit()
                .await
                .map_err(|e| Abort::Db("append: commit", e))?;
            Ok(written)
        }
        Err(e) => {
            if let Err(rollback) = txn.rollback().await {
                warn!(error = %rollback, "rollback after a failed group commit");
            }
            Err(e)
        }
    }
}

/// Why a batch was abandoned (nothing of it written).
#[derive(Debug)]
enum Abort {
    /// The database failed while doing this.
    Db(&'static str, DbErr),
    /// The stored data is not as it must be.
    Store(StoreError),
}
