//! [`WorkStore`] for [`SqlStore`]: claims, queue depths, searches and gauges from SQL over
//! indexed columns, and the PostgreSQL listener that wakes this node's fetches when
//! another node made a unit ready.

use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;
use sea_orm::{DbBackend, EntityTrait, Statement, Value};
use tracing::{debug, warn};
use yijian_engine::CaseNo;
use yijian_engine::case::{UnitStatus, Warning};
use yijian_engine::store::{
    Board, CasePage, CaseQuery, Claimed, Gauges, QueueDepth, ReadyClaim, ReadyHook, Result,
    WorkStore,
};

use crate::entity::case;
use crate::error;
use crate::migration::m20261209_000006_board_index::WARNED;
use crate::query::task::{self, param, rows, unit_of};
use crate::store::{SqlStore, summary_of, text_of, time_of};

/// The hooks told of units made ready on other nodes.
pub(crate) type Hooks = Arc<Mutex<Vec<ReadyHook>>>;

/// The `NOTIFY` channel of a deployment: one per schema, so deployments sharing a
/// database do not wake each other.
pub(crate) fn channel(schema: Option<&str>) -> String {
    match schema {
        Some(s) => format!("yijian_ready_{s}"),
        None => "yijian_ready".to_owned(),
    }
}

/// Listens on `channel` until the pool closes, calling every hook with the department
/// named by each notice; reconnects after a lost connection (notices sent meanwhile are
/// lost: the fetches' re-check covers them).
pub(crate) async fn listen(pool: sea_orm::sqlx::PgPool, channel: String, hooks: Hooks) {
    use sea_orm::sqlx::postgres::PgListener;
    loop {
        if pool.is_closed() {
            return;
        }
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "the ready-notice listener cannot connect; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(&channel).await {
            warn!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        debug!(channel, "listening for ready units of other nodes");
        loop {
            match listener.recv().await {
                Ok(n) => {
                    let hooks: Vec<ReadyHook> =
                        hooks.lock().unwrap_or_else(PoisonError::into_inner).clone();
                    for h in hooks {
                        h(n.payload());
                    }
                }
                Err(e) => {
                    warn!(error = %e, "the ready-notice listener lost its connection");
                    break;
                }
            }
        }
    }
}

fn limit_of(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn count_of(what: &str, n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| error::out_of_range(what, n))
}

/// The conditions and values of a search, after `WHERE`.
fn conditions(b: DbBackend, q: &CaseQuery) -> (String, Vec<Value>) {
    let mut sql = String::from("1 = 1");
    let mut values: Vec<Value> = Vec::new();
    let next = |values: &mut Vec<Value>, v: Value| {
        values.push(v);
        param(b, values.len())
    };
    if let Some(r) = &q.region {
        let n = next(
            &mut values,
            i32::try_from(r.chars().count()).unwrap_or(i32::MAX).into(),
        );
        let p = next(&mut values, r.clone().into());
        sql.push_str(&format!(" AND substr(cases.region, 1, {n}) = {p}"));
    }
    if let Some(x) = &q.bundle {
        let p = next(&mut values, x.clone().into());
        sql.push_str(&format!(" AND cases.bundle = {p}"));
    }
    if let Some(x) = &q.status {
        let p = next(&mut values, x.clone().into());
        sql.push_str(&format!(" AND cases.status = {p}"));
    }
    if let Some(x) = &q.channel {
        let p = next(&mut values, x.clone().into());
        sql.push_str(&format!(" AND cases.channel = {p}"));
    }
    if let Some(w) = q.warning {
        let p = next(&mut values, w.as_str().into());
        sql.push_str(&format!(" AND NOT cases.closed AND cases.warning = {p}"));
        if w != Warning::Green {
            // Spelled as the `cases_warning` index's predicate, so the planner uses it.
            sql.push_str(" AND cases.warning <> 'green'");
        }
    }
    if q.department.is_some() || q.task_state.is_some() || q.task_kind.is_some() {
        sql.push_str(" AND EXISTS (SELECT 1 FROM tasks t WHERE t.case_no = cases.case_no");
        if let Some(d) = &q.department {
            let p = next(&mut values, d.clone().into());
            sql.push_str(&format!(" AND t.department = {p}"));
        }
        if let Some(s) = q.task_state {
            let p = next(&mut values, s.as_str().into());
            sql.push_str(&format!(" AND t.state = {p}"));
        }
        if let Some(k) = &q.task_kind {
            let p = next(&mut values, k.clone().into());
            sql.push_str(&format!(" AND t.kind = {p}"));
        }
        sql.push(')');
    }
    (sql, values)
}

impl WorkStore for SqlStore {
    async fn claim_ready(&self, c: &ReadyClaim) -> Result<Vec<Claimed>> {
        let got = task::claim_ready(self.db(), c)
            .await
            .map_err(|e| error::db("claim_ready", e))?;
        got.into_iter()
            .map(|(case_no, unit, _)| {
                Ok(Claimed {
                    task: unit_of(&case_no, &unit)?,
                    case_no: CaseNo::new(case_no),
                })
            })
            .collect()
    }

    async fn claim_timers(
        &self,
        now: Timestamp,
        hold_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<(CaseNo, Timestamp)>> {
        let got = task::claim_timers(
            self.db(),
            text_of(now),
            text_of(hold_until),
            limit_of(limit),
        )
        .await
        .map_err(|e| error::db("claim_timers", e))?;
        got.into_iter()
            .map(|(case_no, at)| {
                let at = time_of(&format!("case {case_no}: next timer"), &at)?;
                Ok((CaseNo::new(case_no), at))
            })
            .collect()
    }

    async fn next_timer(&self) -> Result<Option<Timestamp>> {
        let sql = "SELECT MIN(next_timer_at) FROM cases WHERE next_timer_at IS NOT NULL";
        let got = rows(self.db(), sql.to_owned(), Vec::new())
            .await
            .map_err(|e| error::db("next_timer", e))?;
        let at: Option<String> = match got.first() {
            Some(r) => r
                .try_get_by_index(0)
                .map_err(|e| error::db("next_timer", e))?,
            None => None,
        };
        at.map(|t| time_of("next timer", &t)).transpose()
    }

    async fn queue_depths(&self, now: Timestamp) -> Result<Vec<QueueDepth>> {
        let b = self.backend();
        let sql = format!(
            "SELECT department, COUNT(*), MIN(ready_at) FROM tasks WHERE ready_at IS NOT NULL \
             AND NOT pushed AND free_at <= {} GROUP BY department \
             ORDER BY department",
            param(b, 1)
        );
        let fail = |e| error::db("queue_depths", e);
        let mut out = Vec::new();
        for r in rows(self.db(), sql, vec![text_of(now).into()])
            .await
            .map_err(fail)?
        {
            let department: String = r.try_get_by_index(0).map_err(fail)?;
            let depth: i64 = r.try_get_by_index(1).map_err(fail)?;
            let oldest: Option<String> = r.try_get_by_index(2).map_err(fail)?;
            out.push(QueueDepth {
                depth: usize::try_from(depth).unwrap_or(usize::MAX),
                oldest: oldest
                    .map(|t| time_of(&format!("queue {department}"), &t))
                    .transpose()?,
                department,
            });
        }
        Ok(out)
    }

    async fn dispatched(
        &self,
        departments: &[String],
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Claimed>> {
        let b = self.backend();
        let mut values: Vec<Value> = vec![text_of(now).into(), limit_of(limit).into()];
        let mut bound = String::new();
        for d in departments {
            values.push(d.clone().into());
            bound.push_str(&format!(" OR department = {}", param(b, values.len())));
        }
        let sql = format!(
            "SELECT case_no, unit FROM tasks WHERE ready_at IS NOT NULL \
             AND (pushed{bound}) AND free_at <= {} \
             ORDER BY ready_at LIMIT {}",
            param(b, 1),
            param(b, 2)
        );
        let fail = |e| error::db("dispatched", e);
        let mut out = Vec::new();
        for r in rows(self.db(), sql, values).await.map_err(fail)? {
            let case_no: String = r.try_get_by_index(0).map_err(fail)?;
            let unit: String = r.try_get_by_index(1).map_err(fail)?;
            out.push(Claimed {
                task: unit_of(&case_no, &unit)?,
                case_no: CaseNo::new(case_no),
            });
        }
        Ok(out)
    }

    async fn version(&self, case_no: &CaseNo) -> Result<Option<u64>> {
        let b = self.backend();
        let sql = format!(
            "SELECT event_count FROM cases WHERE case_no = {}",
            param(b, 1)
        );
        let fail = |e| error::db("version", e);
        let got = rows(self.db(), sql, vec![case_no.as_str().into()])
            .await
            .map_err(fail)?;
        match got.first() {
            Some(r) => {
                let n: i64 = r.try_get_by_index(0).map_err(fail)?;
                Ok(Some(count_of(&format!("case {case_no}: version"), n)?))
            }
            None => Ok(None),
        }
    }

    async fn search(&self, q: &CaseQuery) -> Result<CasePage> {
        let b = self.backend();
        let fail = |e| error::db("search", e);
        let (cond, values) = conditions(b, q);
        let total = if q.count {
            let sql = format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM cases WHERE {cond} LIMIT {}) q",
                CaseQuery::MAX_COUNT
            );
            let got = rows(self.db(), sql, values.clone()).await.map_err(fail)?;
            let n: i64 = match got.first() {
                Some(r) => r.try_get_by_index(0).map_err(fail)?,
                None => 0,
            };
            Some(count_of("search: count", n)?)
        } else {
            None
        };
        let mut values = values;
        let mut sql = format!("SELECT cases.* FROM cases WHERE {cond}");
        if let Some(before) = &q.before {
            values.push(before.as_str().into());
            let p = param(b, values.len());
            // Keyset: strictly older than the given case, by (created_at, case_no).
            sql.push_str(&format!(
                " AND (cases.created_at, cases.case_no) < \
                 (SELECT c.created_at, c.case_no FROM cases c WHERE c.case_no = {p})"
            ));
        }
        values.push(limit_of(q.limit).into());
        let lim = param(b, values.len());
        values.push(limit_of(q.offset).into());
        let off = param(b, values.len());
        sql.push_str(&format!(
            " ORDER BY cases.created_at DESC, cases.case_no DESC LIMIT {lim} OFFSET {off}"
        ));
        let models = case::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(b, sql, values))
            .all(self.db())
            .await
            .map_err(fail)?;
        Ok(CasePage {
            cases: models.into_iter().map(summary_of).collect::<Result<_>>()?,
            total,
        })
    }

    async fn gauges(&self) -> Result<Gauges> {
        let fail = |e| error::db("gauges", e);
        let db = self.db();
        let mut g = Gauges::default();
        let sql = "SELECT status, COUNT(*) FROM cases GROUP BY status ORDER BY status";
        for r in rows(db, sql.to_owned(), Vec::new()).await.map_err(fail)? {
            let status: String = r.try_get_by_index(0).map_err(fail)?;
            let n: i64 = r.try_get_by_index(1).map_err(fail)?;
            g.cases.push((status, count_of("gauges", n)?));
        }
        let sql = "SELECT COALESCE(channel, ''), COUNT(*) FROM cases GROUP BY COALESCE(channel, '') \
                   ORDER BY 1";
        for r in rows(db, sql.to_owned(), Vec::new()).await.map_err(fail)? {
            let channel: String = r.try_get_by_index(0).map_err(fail)?;
            let n: i64 = r.try_get_by_index(1).map_err(fail)?;
            g.channels.push((channel, count_of("gauges", n)?));
        }
        // Dispatched units from `tasks_ready`, the other unsettled ones from `tasks_open`.
        let sql = "SELECT department, COUNT(*) FROM tasks WHERE ready_at IS NOT NULL \
                   GROUP BY department ORDER BY department";
        for r in rows(db, sql.to_owned(), Vec::new()).await.map_err(fail)? {
            let department: String = r.try_get_by_index(0).map_err(fail)?;
            let n: i64 = r.try_get_by_index(1).map_err(fail)?;
            g.tasks
                .push((department, UnitStatus::Dispatched, count_of("gauges", n)?));
        }
        let open: Vec<String> = UnitStatus::ALL
            .iter()
            .filter(|s| !s.is_final() && **s != UnitStatus::Dispatched)
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let sql = format!(
            "SELECT department, state, COUNT(*) FROM tasks WHERE state IN ({}) \
             GROUP BY department, state ORDER BY department, state",
            open.join(", ")
        );
        for r in rows(db, sql, Vec::new()).await.map_err(fail)? {
            let department: String = r.try_get_by_index(0).map_err(fail)?;
            let state: String = r.try_get_by_index(1).map_err(fail)?;
            let n: i64 = r.try_get_by_index(2).map_err(fail)?;
            let Some(state) = UnitStatus::from_name(&state) else {
                return Err(error::corrupt(&format!("a task row's state `{state}`")));
            };
            g.tasks.push((department, state, count_of("gauges", n)?));
        }
        g.tasks
            .sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
        let sql = "SELECT warning, COUNT(*) FROM cases WHERE NOT closed AND warning <> 'green' \
                   GROUP BY warning";
        let mut yellow = 0;
        let mut red = 0;
        for r in rows(db, sql.to_owned(), Vec::new()).await.map_err(fail)? {
            let w: String = r.try_get_by_index(0).map_err(fail)?;
            let n: i64 = r.try_get_by_index(1).map_err(fail)?;
            match Warning::from_name(&w) {
                Some(Warning::Yellow) => yellow = count_of("gauges", n)?,
                Some(Warning::Red) => red = count_of("gauges", n)?,
                _ => {}
            }
        }
        g.warnings = vec![(Warning::Yellow, yellow), (Warning::Red, red)];
        Ok(g)
    }

    async fn board(&self, region: &str) -> Result<Board> {
        let fail = |e| error::db("board", e);
        let (db, b) = (self.db(), self.backend());
        let (filter, values): (String, Vec<Value>) = if region.is_empty() {
            (String::new(), Vec::new())
        } else {
            (
                format!(" AND substr(region, 1, {}) = {}", param(b, 1), param(b, 2)),
                vec![
                    i32::try_from(region.chars().count())
                        .unwrap_or(i32::MAX)
                        .into(),
                    region.into(),
                ],
            )
        };
        let level = |w: &str| Warning::from_name(w).filter(|w| *w != Warning::Green);
        let mut board = Board::default();
        let sql = format!(
            "SELECT warning, COUNT(*) FROM cases WHERE NOT closed AND warning <> 'green'{filter} \
             GROUP BY warning ORDER BY warning DESC"
        );
        for r in rows(db, sql, values.clone()).await.map_err(fail)? {
            let w: String = r.try_get_by_index(0).map_err(fail)?;
            let n: i64 = r.try_get_by_index(1).map_err(fail)?;
            if let Some(w) = level(&w) {
                board.cases.push((w, count_of("board", n)?));
            }
        }
        board.cases.sort();
        let sql = format!(
            "SELECT department, warning, COUNT(*) FROM tasks WHERE {WARNED}{filter} \
             GROUP BY department, warning"
        );
        for r in rows(db, sql, values).await.map_err(fail)? {
            let department: String = r.try_get_by_index(0).map_err(fail)?;
            let w: String = r.try_get_by_index(1).map_err(fail)?;
            let n: i64 = r.try_get_by_index(2).map_err(fail)?;
            if let Some(w) = level(&w) {
                board.tasks.push((department, w, count_of("board", n)?));
            }
        }
        board.tasks.sort();
        Ok(board)
    }

    async fn unindexed(&self, limit: usize) -> Result<Vec<CaseNo>> {
        let b = self.backend();
        let sql = format!(
            "SELECT case_no FROM cases WHERE NOT closed AND (NOT EXISTS \
             (SELECT 1 FROM tasks t WHERE t.case_no = cases.case_no) OR EXISTS \
             (SELECT 1 FROM tasks t WHERE t.case_no = cases.case_no AND t.kind IS NULL)) \
             ORDER BY case_no LIMIT {}",
            param(b, 1)
        );
        let fail = |e| error::db("unindexed", e);
        let mut out = Vec::new();
        for r in rows(self.db(), sql, vec![limit_of(limit).into()])
            .await
            .map_err(fail)?
        {
            out.push(CaseNo::new(r.try_get_by_index::<String>(0).map_err(fail)?));
        }
        Ok(out)
    }

    fn on_ready(&self, hook: ReadyHook) {
        self.hooks()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(hook);
    }
}
