//! One batch inside its transaction: version checks, case rows, chained event rows.
//!
//! The batch is planned in memory first, then written with a handful of statements however
//! many commits it holds: a read of the heads of cases this writer has not just written
//! (usually none), multi-row INSERTs of new cases, multi-row version-checked UPDATEs of the
//! others, multi-row INSERTs of the events. Multi-row statements come in a few fixed sizes
//! (`query::chunk_sizes`), so their texts stay prepared in the driver's statement cache.

use std::collections::{HashMap, HashSet};

use sea_orm::DatabaseTransaction;
use yijian_engine::store::{Refusals, Result, StoreError};

use super::{Abort, Heads, Job};
use crate::audit::{GENESIS, link_hash};
use crate::entity::event;
use crate::error;
use crate::query;

/// A case's version and the hash its next event chains to.
#[derive(Debug, Clone)]
pub(super) struct At {
    count: u64,
    head: String,
}

/// Each commit's outcome, in the jobs' order, and the heads to remember once the
/// transaction has committed (`None`: forget the case).
pub(super) type Written = (Vec<Result<()>>, Vec<(String, Option<At>)>);

/// What one batch does to one case.
#[derive(Debug)]
struct Plan<'a> {
    /// The case's version in the store before the batch (`None`: a new case).
    from: Option<u64>,
    /// The accepted commits, as indexes into the jobs.
    accepted: Vec<usize>,
    /// The last accepted commit (its row is the case's row after the batch).
    last: Option<usize>,
    events: Vec<event::Model>,
    /// The idempotency key of the commit that creates the case.
    key: Option<&'a str>,
    /// Where the case stands after the last accepted commit.
    to: Option<At>,
}

/// Applies the batch's commits. `Err` abandons the whole batch.
pub(super) async fn apply(
    txn: &DatabaseTransaction,
    jobs: &[Job],
    cache: &Heads,
    refusals: &mut Refusals,
    notify: Option<&str>,
) -> std::result::Result<Written, Abort> {
    let db = |e| Abort::Db("append", e);
    // Cases in case-number order, each case's commits in call order (a stable sort): two
    // nodes sharing PostgreSQL then lock case rows in the same order and cannot deadlock on
    // them.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by(|&a, &b| jobs[a].row.case_no.cmp(&jobs[b].row.case_no));
    let mut case_nos: Vec<&str> = order
        .iter()
        .map(|&i| jobs[i].row.case_no.as_str())
        .collect();
    case_nos.dedup();

    // A case's head comes from the cache when it is at the version its first commit here
    // expects; a new case (expected 0) is assumed absent (its INSERT finds out otherwise);
    // the rest are read.
    let mut first: Vec<&Job> = Vec::with_capacity(case_nos.len());
    for &i in &order {
        if first
            .last()
            .is_none_or(|j| j.row.case_no != jobs[i].row.case_no)
        {
            first.push(&jobs[i]);
        }
    }
    let misses: Vec<&str> = first
        .iter()
        .filter(|j| {
            j.expected > 0
                && cache
                    .get(&j.row.case_no)
                    .is_none_or(|a| a.count != j.expected)
        })
        .map(|j| j.row.case_no.as_str())
        .collect();
    let heads = if misses.is_empty() {
        HashMap::new()
    } else {
        query::case::heads(txn, &misses).await.map_err(db)?
    };
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

    // Plan: each commit checked against the store, or against the earlier commits of its
    // case in this batch.
    let mut outcomes: Vec<Result<()>> = vec![Ok(()); jobs.len()];
    let mut plans: Vec<(&str, Plan<'_>)> = Vec::with_capacity(case_nos.len());
    // Keys taken by earlier commits of this batch: key → the case holding it.
    let mut taken: HashMap<&str, &str> = HashMap::new();
    let mut at: Option<At> = None;
    let mut broken: Option<(&str, StoreError)> = None;
    for i in order {
        let job = &jobs[i];
        let c = job.row.case_no.as_str();
        if plans.last().is_none_or(|(p, _)| *p != c) {
            at = match cache.get(c) {
                Some(a) if a.count == job.expected => Some(a.clone()),
                _ => match head_of(c, heads.get(c)) {
                    Ok(at) => at,
                    Err(e) => {
                        // This case cannot be chained onto; the others of the batch can.
                        broken = Some((c, e));
                        None
                    }
                },
            };
            let from = at.as_ref().map(|a| a.count);
            plans.push((
                c,
                Plan {
                    from,
                    accepted: Vec::new(),
                    last: None,
                    events: Vec::new(),
                    key: None,
                    to: None,
                },
            ));
        }
        let (_, plan) = plans
            .last_mut()
            .expect("invariant: a plan was pushed for this case above");
        if let Some((b, e)) = &broken
            && *b == c
        {
            outcomes[i] = Err(e.clone());
            continue;
        }
        let found = at.as_ref().map_or(0, |a| a.count);
        if job.expected != found || refusals.blocks(c, job.lineage, job.expected) {
            refusals.refused(c, job.lineage, job.expected);
            outcomes[i] = Err(conflict(job, found));
            continue;
        }
        if at.is_none()
            && let Some(key) = job.row.idempotency_key.as_deref()
        {
            let holder = taken
                .get(key)
                .copied()
                .or_else(|| owners.get(key).map(String::as_str));
            if let Some(holder) = holder {
                // The key names another case: this one is refused (the caller asks
                // `case_for_key` for the first). `found` is at least 1 so the error never
                // reads "expected 0, found 0".
                let found = heads
                    .get(holder)
                    .map_or(1, |h| u64::try_from(h.event_count).unwrap_or(1).max(1));
                outcomes[i] = Err(conflict(job, found));
                continue;
            }
            taken.insert(key, c);
            plan.key = Some(key);
        }
        let mut head = at.take().map_or_else(|| GENESIS.to_owned(), |a| a.head);
        for (k, body) in job.events.iter().enumerate() {
            let seq = job.expected + k as u64 + 1;
            let hash = link_hash(&head, seq, &body.json);
            plan.events.push(event::Model {
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
        at = Some(At {
            count: job.expected + job.events.len() as u64,
            head,
        });
        plan.accepted.push(i);
        plan.last = Some(i);
        plan.to.clone_from(&at);
    }

    // Write: case rows with their version checks first, then the events of the cases whose
    // rows were written.
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    for (_, plan) in &plans {
        let Some(row) = plan.last.map(|i| &jobs[i].row) else {
            continue;
        };
        match plan.from {
            None => {
                // The current row of the last commit, with what the creating commit (the
                // first accepted one, at version 0) says of the creation.
                let mut row = row.clone();
                if let Some(first) = plan.accepted.first().map(|&i| &jobs[i].row) {
                    row.created_at.clone_from(&first.created_at);
                    row.created_events = first.created_events;
                }
                row.idempotency_key = plan.key.map(str::to_owned);
                inserts.push(row);
            }
            Some(from) => {
                let from = i64::try_from(from)
                    .map_err(|_| Abort::Store(error::out_of_range("version", from)))?;
                updates.push((row, from));
            }
        }
    }
    let mut written: HashSet<String> = HashSet::with_capacity(plans.len());
    if !inserts.is_empty() {
        written.extend(query::case::insert_new(txn, inserts).await.map_err(db)?);
    }
    if !updates.is_empty() {
        written.extend(query::case::update_from(txn, &updates).await.map_err(db)?);
    }
    let mut rows = Vec::new();
    let mut moved = Vec::new();
    let mut changes = Vec::with_capacity(plans.len());
    let mut units: Vec<query::task::Row> = Vec::new();
    let mut gone: Vec<(String, String)> = Vec::new();
    // Rows of cases created in this batch: plain INSERTs (no row can exist).
    let mut fresh: Vec<query::task::Row> = Vec::new();
    for (c, plan) in plans {
        let Some(row) = plan.last.map(|i| &jobs[i].row) else {
            continue;
        };
        if written.contains(c) {
            // The last row of each unit among the case's accepted commits (a statement may
            // touch a row once).
            let into = if plan.from.is_none() {
                &mut fresh
            } else {
                &mut units
            };
            let start = into.len();
            for &i in &plan.accepted {
                // A migration's removed units: earlier rows of them in this batch go too.
                for unit in &jobs[i].removed {
                    into.retain(|u| !(u.case_no == *c && u.unit == *unit));
                    gone.push((c.to_owned(), unit.clone()));
                }
                for t in &jobs[i].tasks {
                    match into[start..].iter_mut().find(|u| u.unit == t.unit) {
                        Some(u) => *u = t.clone(),
                        None => into.push(t.clone()),
                    }
                }
            }
            // A closed case is rarely written again: no need to remember it.
            let head = if row.closed { None } else { plan.to };
            changes.push((c.to_owned(), head));
            rows.extend(plan.events);
        } else {
            changes.push((c.to_owned(), None));
            // Another node changed the case (or took its number or key) since the heads
            // were read: every accepted commit of it in this batch is refused.
            moved.push((c, plan.accepted));
        }
    }
    if !moved.is_empty() {
        let nos: Vec<&str> = moved.iter().map(|(c, _)| *c).collect();
        let now = query::case::heads(txn, &nos).await.map_err(db)?;
        for (c, accepted) in moved {
            let found = now
                .get(c)
                .map_or(0, |h| u64::try_from(h.event_count).unwrap_or(0));
            for i in accepted {
                refusals.refused(c, jobs[i].lineage, jobs[i].expected);
                outcomes[i] = Err(conflict(&jobs[i], found));
            }
        }
    }
    query::event::insert_many(txn, rows).await.map_err(db)?;
    if let Some(channel) = notify {
        // Wake the fetches waiting on every node for the departments with units fetchable
        // now; delivered when the transaction commits, not before.
        let mut departments: Vec<&str> = units
            .iter()
            .chain(&fresh)
            .filter(|u| u.wakes)
            .map(query::task::Row::department)
            .collect();
        departments.sort_unstable();
        departments.dedup();
        for d in departments {
            query::task::notify(txn, channel, d).await.map_err(db)?;
        }
    }
    if !gone.is_empty() {
        query::task::delete(txn, &gone).await.map_err(db)?;
    }
    if !fresh.is_empty() {
        query::task::upsert(txn, fresh, false).await.map_err(db)?;
    }
    if !units.is_empty() {
        query::task::upsert(txn, units, true).await.map_err(db)?;
    }
    Ok((outcomes, changes))
}

/// Where a stored case stands (`None`: not stored).
fn head_of(c: &str, head: Option<&query::case::Head>) -> Result<Option<At>> {
    let Some(head) = head else { return Ok(None) };
    let count = u64::try_from(head.event_count)
        .map_err(|_| error::out_of_range(&format!("case {c}: event count"), head.event_count))?;
    match (&head.hash, count) {
        (_, 0) => Ok(Some(At {
            count,
            head: GENESIS.to_owned(),
        })),
        (Some(h), _) => Ok(Some(At {
            count,
            head: h.clone(),
        })),
        // Counted events that are not there: refuse to chain onto a hole.
        (None, _) => Err(StoreError::Corrupt {
            message: format!("case {c}: event {count} (its last) is missing"),
        }),
    }
}

fn conflict(job: &Job, found: u64) -> StoreError {
    StoreError::Conflict {
        case_no: job.case_no.clone(),
        expected: job.expected,
        found,
    }
}
