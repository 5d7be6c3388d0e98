//! One batch inside its transaction: version checks, case rows, chained event rows.

use std::collections::HashMap;

use sea_orm::DatabaseTransaction;
use yijian_engine::store::{Result, StoreError};

use super::{Abort, Job};
use crate::audit::{GENESIS, link_hash};
use crate::entity::event;
use crate::error;
use crate::query;

/// What the writer knows about a case during a batch.
#[derive(Debug, Clone)]
enum Known {
    /// No such case in the store.
    Absent,
    /// At this version; the next event chains to `head`.
    At { count: u64, head: String },
    /// Another writer moved it during this batch: its version is unknown here.
    Moved,
}

/// Applies the batch's commits; returns each one's outcome, in the jobs' order. `Err`
/// abandons the whole batch.
pub(super) async fn apply(
    txn: &DatabaseTransaction,
    jobs: &[Job],
) -> std::result::Result<Vec<Result<()>>, Abort> {
    let db = |e| Abort::Db("append", e);
    // Cases in case-number order, each case's commits in call order (a stable sort): two
    // nodes sharing PostgreSQL then lock case rows in the same order and cannot deadlock on
    // them.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by(|&a, &b| jobs[a].row.case_no.cmp(&jobs[b].row.case_no));
    let mut case_nos: Vec<&str> = order.iter().map(|&i| jobs[i].row.case_no.as_str()).collect();
    case_nos.dedup();

    let heads = query::case::heads(txn, &case_nos).await.map_err(db)?;
    let mut known: HashMap<&str, Known> = HashMap::with_capacity(case_nos.len());
    for c in &case_nos {
        let k = match heads.get(*c) {
            None => Known::Absent,
            Some(head) => {
                let count = u64::try_from(head.event_count).map_err(|_| {
                    Abort::Store(error::out_of_range("event count", head.event_count))
                })?;
                match (&head.hash, count) {
                    (_, 0) => Known::At {
                        count,
                        head: GENESIS.to_owned(),
                    },
                    (Some(h), _) => Known::At {
                        count,
                        head: h.clone(),
                    },
                    // Counted events that are not there: refuse to chain onto a hole.
                    (None, _) => {
                        return Err(Abort::Store(StoreError::Corrupt {
                            message: format!("case {c}: event {count} (its last) is missing"),
                        }));
                    }
                }
            }
        };
        known.insert(c, k);
    }
    let keys: Vec<&str> = jobs
        .iter()
        .filter(|j| j.expected == 0)
        .filter_map(|j| j.row.idempotency_key.as_deref())
        .collect();
    let owners = if keys.is_empty() {
        HashMap::new()
    } else {
        query::case::key_owners(txn, &keys).await.map_err(db)?
    };
    // Keys taken by earlier commits of this batch: key → the case holding it.
    let mut taken: HashMap<&str, &str> = HashMap::new();

    let mut outcomes: Vec<Result<()>> = vec![Ok(()); jobs.len()];
    let mut rows = Vec::new();
    for i in order {
        let job = &jobs[i];
        let c = job.row.case_no.as_str();
        let state = known.get(c).cloned().unwrap_or(Known::Absent);
        let is_new = matches!(state, Known::Absent);
        let (found, prev) = match state {
            Known::Absent => (0, GENESIS.to_owned()),
            Known::At { count, head } => (count, head),
            Known::Moved => {
                outcomes[i] = Err(conflict(job, version_of(txn, c).await?));
                continue;
            }
        };
        if job.expected != found {
            outcomes[i] = Err(conflict(job, found));
            continue;
        }
        let written = if is_new {
            if let Some(key) = job.row.idempotency_key.as_deref() {
                let holder = taken
                    .get(key)
                    .copied()
                    .or_else(|| owners.get(key).map(String::as_str));
                if let Some(holder) = holder {
                    // The key names another case: this one is refused (the caller asks
                    // `case_for_key` for the first). `found` is at least 1 so the error
                    // never reads "expected 0, found 0".
                    let found = version_of(txn, holder).await?.max(1);
                    outcomes[i] = Err(conflict(job, found));
                    continue;
                }
            }
            query::case::insert_new(txn, &job.row)
                .await
                .map_err(db)?
        } else {
            let expected = i64::try_from(job.expected)
                .map_err(|_| Abort::Store(error::out_of_range("event count", job.expected)))?;
            query::case::update_from(txn, &job.row, expected)
                .await
                .map_err(db)?
        };
        if !written {
            // Another node got there first. Later commits of this case in the batch were
            // decided on top of this one: they are refused too.
            known.insert(c, Known::Moved);
            outcomes[i] = Err(conflict(job, version_of(txn, c).await?));
            continue;
        }
        if is_new && let Some(key) = job.row.idempotency_key.as_deref() {
            taken.insert(key, c);
        }
        let mut head = prev;
        for (k, body) in job.events.iter().enumerate() {
            let seq = job.expected + k as u64 + 1;
            let hash = link_hash(&head, seq, &body.json);
            rows.push(event::Model {
                case_no: c.to_owned(),
                seq: i64::try_from(seq)
                    .map_err(|_| Abort::Store(error::out_of_range("seq", seq)))?,
                at: body.at.clone(),
                kind: body.kind.to_owned(),
                body: body.json.clone(),
                prev_hash: std::mem::replace(&mut head, hash.clone()),
                hash,
            });
        }
        known.insert(
            c,
            Known::At {
                count: job.expected + job.events.len() as u64,
                head,
            },
        );
    }
    query::event::insert_many(txn, rows).await.map_err(db)?;
    Ok(outcomes)
}

fn conflict(job: &Job, found: u64) -> StoreError {
    StoreError::Conflict {
        case_no: job.case_no.clone(),
        expected: job.expected,
        found,
    }
}

/// The stored version of a case (0 if absent), read inside the batch's transaction.
async fn version_of(txn: &DatabaseTransaction, case_no: &str) -> std::result::Result<u64, Abort> {
    let row = query::case::find(txn, case_no)
        .await
        .map_err(|e| Abort::Db("append", e))?;
    let count = row.map_or(0, |r| r.event_count);
    u64::try_from(count).map_err(|_| Abort::Store(error::out_of_range("event count", count)))
}
