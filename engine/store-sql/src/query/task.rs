//! `tasks` (one row per unit: the department queues) and the work columns of `cases`
//! (timers, warnings): the writes of a commit, and the claims, searches and counts that
//! nodes answer from the store.
//!
//! Claims are one statement each: `UPDATE … WHERE key IN (SELECT … LIMIT n FOR UPDATE SKIP
//! LOCKED) RETURNING …` on PostgreSQL, so concurrent claims from several nodes skip each
//! other's rows instead of waiting; SQLite has one writer and takes the same statement
//! without the locking clause.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};
use yijian_engine::CaseNo;
use yijian_engine::store::{ReadyClaim, Result, StoreError, TaskRow};

use super::{chunk_sizes, push_tuples};
use crate::error;
use crate::store::text_of;

/// A unit's row, as bound.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) case_no: String,
    pub(crate) unit: String,
    department: String,
    kind: String,
    region: String,
    state: &'static str,
    /// Set while dispatched.
    pub(crate) ready_at: Option<String>,
    /// While dispatched: when the unit can next be claimed — `ready_at`, or the end of its
    /// lease (far in the future once accepted) or of a claim's hold.
    pub(crate) free_at: Option<String>,
    lease_owner: Option<String>,
    lease_token: Option<i64>,
    due_at: Option<String>,
    warning: &'static str,
    pushed: bool,
    /// Whether this write makes the unit fetchable now (for wake-ups).
    pub(crate) wakes: bool,
}

impl Row {
    /// The row of a unit of `case_no`.
    pub(crate) fn of(case_no: &CaseNo, region: &str, t: &TaskRow) -> Result<Row> {
        let unit = unit_key(t.task)?;
        let token = t
            .lease
            .as_ref()
            .map(|l| {
                i64::try_from(l.token).map_err(|_| error::out_of_range("lease token", l.token))
            })
            .transpose()?;
        Ok(Row {
            case_no: case_no.to_string(),
            unit,
            department: t.department.to_string(),
            kind: t.kind.to_string(),
            region: region.to_owned(),
            state: t.state.as_str(),
            ready_at: t.ready_at.map(text_of),
            free_at: t
                .ready_at
                .map(|r| text_of(t.locked_until().map_or(r, |l| l.max(r)))),
            lease_owner: t.lease.as_ref().map(|l| l.owner.clone()),
            lease_token: token,
            due_at: t.due.map(text_of),
            warning: t.warning.as_str(),
            pushed: t.pushed,
            wakes: t.ready_at.is_some() && t.lease.is_none() && !t.pushed,
        })
    }

    pub(crate) fn department(&self) -> &str {
        &self.department
    }
}

/// A unit's key in `tasks.unit`: its reference as compact JSON (`{"task":3}`,
/// `{"task":1,"instance":0}`, `{"task":2,"part":"verification"}`).
pub(crate) fn unit_key(task: yijian_engine::TaskRef) -> Result<String> {
    serde_json::to_string(&task).map_err(|e| StoreError::Corrupt {
        message: format!("a unit reference does not serialise: {e}"),
    })
}

/// The unit a `tasks.unit` key names.
pub(crate) fn unit_of(case_no: &str, key: &str) -> Result<yijian_engine::TaskRef> {
    serde_json::from_str(key).map_err(|e| StoreError::Corrupt {
        message: format!("case {case_no}: task row `{key}` names no unit: {e}"),
    })
}

/// Writes unit rows (at most one per unit: the caller keeps the last of each); `existing`:
/// some may be stored already (an upsert), else plain INSERTs (the rows of new cases).
pub(crate) async fn upsert<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<Row>,
    existing: bool,
) -> Result<(), DbErr> {
    const WIDTH: usize = 13;
    let backend = conn.get_database_backend();
    let mut rows = rows.into_iter();
    for size in chunk_sizes(rows.len()) {
        let mut sql = String::with_capacity(400 + size * 4 * WIDTH);
        sql.push_str(
            "INSERT INTO tasks (case_no, unit, department, region, state, ready_at, \
             free_at, lease_owner, lease_token, due_at, warning, pushed, kind) VALUES ",
        );
        push_tuples(&mut sql, backend, size, WIDTH);
        if existing {
            sql.push_str(
                " ON CONFLICT (case_no, unit) DO UPDATE SET department = excluded.department, \
             region = excluded.region, state = excluded.state, ready_at = excluded.ready_at, \
             free_at = excluded.free_at, lease_owner = excluded.lease_owner, \
             lease_token = excluded.lease_token, due_at = excluded.due_at, \
             warning = excluded.warning, pushed = excluded.pushed, kind = excluded.kind",
            );
        }
        let mut values: Vec<Value> = Vec::with_capacity(size * WIDTH);
        for r in rows.by_ref().take(size) {
            values.extend([
                r.case_no.into(),
                r.unit.into(),
                r.department.into(),
                r.region.into(),
                r.state.into(),
                r.ready_at.into(),
                r.free_at.into(),
                r.lease_owner.into(),
                r.lease_token.into(),
                r.due_at.into(),
                r.warning.into(),
                r.pushed.into(),
                r.kind.into(),
            ]);
        }
        conn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// Deletes the rows of these `(case_no, unit)` pairs (units a migration renumbered away).
pub(crate) async fn delete<C: ConnectionTrait>(
    conn: &C,
    units: &[(String, String)],
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    for (case_no, unit) in units {
        let sql = format!(
            "DELETE FROM tasks WHERE case_no = {} AND unit = {}",
            param(backend, 1),
            param(backend, 2)
        );
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [case_no.clone().into(), unit.clone().into()],
        ))
        .await?;
    }
    Ok(())
}

/// The `n`th bound parameter (from 1): `$n`, or `?n` on SQLite (numbered, so a statement
/// may use one parameter twice).
pub(crate) fn param(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

/// The row-locking clause of a claim's inner select.
fn skip_locked(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    }
}

/// Claims ready units of a department: `(case_no, unit, ready_at)`, oldest first.
pub(crate) async fn claim_ready<C: ConnectionTrait>(
    conn: &C,
    c: &ReadyClaim,
) -> Result<Vec<(String, String, String)>, DbErr> {
    let b = conn.get_database_backend();
    let mut values: Vec<Value> = vec![
        text_of(c.hold_until).into(),
        c.department.as_str().into(),
        text_of(c.now).into(),
        c.pushed.into(),
    ];
    let (scope, kinds) = (c.scope.as_deref(), &c.kinds);
    let limit = i64::try_from(c.limit).unwrap_or(i64::MAX);
    let mut filters = String::new();
    if let Some(s) = scope {
        values.push(i32::try_from(s.chars().count()).unwrap_or(i32::MAX).into());
        values.push(s.into());
        filters = format!(
            " AND substr(region, 1, {}) = {}",
            param(b, values.len() - 1),
            param(b, values.len())
        );
    }
    if !kinds.is_empty() {
        let mut list = Vec::with_capacity(kinds.len());
        for k in kinds {
            values.push(k.as_str().into());
            list.push(param(b, values.len()));
        }
        filters.push_str(&format!(" AND kind IN ({})", list.join(", ")));
    }
    values.push(limit.into());
    let sql = format!(
        "UPDATE tasks SET free_at = {hold} WHERE (case_no, unit) IN (\
         SELECT case_no, unit FROM tasks WHERE department = {dep} AND pushed = {pushed} \
         AND ready_at IS NOT NULL AND free_at <= {now}{filters} \
         ORDER BY free_at LIMIT {limit}{lock}) RETURNING case_no, unit, ready_at",
        hold = param(b, 1),
        dep = param(b, 2),
        now = param(b, 3),
        pushed = param(b, 4),
        limit = param(b, values.len()),
        lock = skip_locked(b),
    );
    let mut out = Vec::new();
    for r in conn
        .query_all_raw(Statement::from_sql_and_values(b, sql, values))
        .await?
    {
        out.push((
            r.try_get_by_index(0)?,
            r.try_get_by_index(1)?,
            r.try_get_by_index::<Option<String>>(2)?.unwrap_or_default(),
        ));
    }
    out.sort_by(|a, b| a.2.cmp(&b.2));
    Ok(out)
}

/// Claims due timers: `(case_no, next_timer_at)`, earliest first.
pub(crate) async fn claim_timers<C: ConnectionTrait>(
    conn: &C,
    now: String,
    hold_until: String,
    limit: i64,
) -> Result<Vec<(String, String)>, DbErr> {
    let b = conn.get_database_backend();
    let sql = format!(
        "UPDATE cases SET timer_held_until = {hold} WHERE case_no IN (\
         SELECT case_no FROM cases WHERE next_timer_at IS NOT NULL AND next_timer_at <= {now} \
         AND (timer_held_until IS NULL OR timer_held_until <= {now}) \
         ORDER BY next_timer_at LIMIT {limit}{lock}) RETURNING case_no, next_timer_at",
        hold = param(b, 1),
        now = param(b, 2),
        limit = param(b, 3),
        lock = skip_locked(b),
    );
    let values: Vec<Value> = vec![hold_until.into(), now.into(), limit.into()];
    let mut out = Vec::new();
    for r in conn
        .query_all_raw(Statement::from_sql_and_values(b, sql, values))
        .await?
    {
        out.push((
            r.try_get_by_index(0)?,
            r.try_get_by_index::<Option<String>>(1)?.unwrap_or_default(),
        ));
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Runs a query whose rows are all text or integers, as given.
pub(crate) async fn rows<C: ConnectionTrait>(
    conn: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    let b = conn.get_database_backend();
    conn.query_all_raw(Statement::from_sql_and_values(b, sql, values))
        .await
}

/// `pg_notify(channel, department)`, delivered to every listener when the transaction
/// commits.
pub(crate) async fn notify<C: ConnectionTrait>(
    conn: &C,
    channel: &str,
    department: &str,
) -> Result<(), DbErr> {
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [channel.into(), department.into()],
    ))
    .await?;
    Ok(())
}
