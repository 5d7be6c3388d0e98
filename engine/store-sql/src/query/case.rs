//! `cases`.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, Value,
};

use super::{CHUNK, chunk_sizes, push_tuples};
use crate::entity::{case, event};

/// Where a case stands in the store: its version and the hash its next event chains to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) event_count: i64,
    /// `None` when the case has no events (or its last event row is missing).
    pub(crate) hash: Option<String>,
}

/// The heads of these cases (absent cases are absent from the map).
pub(crate) async fn heads<C: ConnectionTrait>(
    conn: &C,
    case_nos: &[&str],
) -> Result<HashMap<String, Head>, DbErr> {
    let mut out = HashMap::with_capacity(case_nos.len());
    let e = Alias::new("e");
    for chunk in case_nos.chunks(CHUNK) {
        // The last event is found by primary key (case_no, seq = event_count).
        let stmt = Query::select()
            .column((case::Entity, case::Column::CaseNo))
            .column((case::Entity, case::Column::EventCount))
            .column((e.clone(), event::Column::Hash))
            .from(case::Entity)
            .left_join(
                sea_orm::sea_query::TableRef::from(event::Entity).alias(e.clone()),
                Expr::col((e.clone(), event::Column::CaseNo))
                    .equals((case::Entity, case::Column::CaseNo))
                    .and(
                        Expr::col((e.clone(), event::Column::Seq))
                            .equals((case::Entity, case::Column::EventCount)),
                    ),
            )
            .and_where(Expr::col((case::Entity, case::Column::CaseNo)).is_in(chunk.iter().copied()))
            .to_owned();
        for row in conn.query_all(&stmt).await? {
            let case_no: String = row.try_get_by_index(0)?;
            let event_count: i64 = row.try_get_by_index(1)?;
            let hash: Option<String> = row.try_get_by_index(2)?;
            out.insert(case_no, Head { event_count, hash });
        }
    }
    Ok(out)
}

/// The case numbers holding these idempotency keys.
pub(crate) async fn key_owners<C: ConnectionTrait>(
    conn: &C,
    keys: &[&str],
) -> Result<HashMap<String, String>, DbErr> {
    let mut out = HashMap::new();
    for chunk in keys.chunks(CHUNK) {
        let rows: Vec<(Option<String>, String)> = case::Entity::find()
            .select_only()
            .column(case::Column::IdempotencyKey)
            .column(case::Column::CaseNo)
            .filter(case::Column::IdempotencyKey.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        out.extend(rows.into_iter().filter_map(|(k, c)| Some((k?, c))));
    }
    Ok(out)
}

/// Inserts new cases; returns the numbers of those inserted (a case whose number or
/// idempotency key is taken is left out, not an error). The rows' strings are moved into
/// the statements (sea-orm's driver still copies each value once when it binds it).
pub(crate) async fn insert_new<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<case::Model>,
) -> Result<HashSet<String>, DbErr> {
    const WIDTH: usize = 16;
    let backend = conn.get_database_backend();
    let mut inserted = HashSet::with_capacity(rows.len());
    let mut rows = rows.into_iter();
    for size in chunk_sizes(rows.len()) {
        let mut sql = String::with_capacity(250 + size * 4 * WIDTH);
        sql.push_str(
            "INSERT INTO cases (case_no, bundle, version, region, status, closed, event_count, \
             accepted_at, idempotency_key, created_at, created_events, next_timer_at, \
             timer_held_until, warning, due_at, channel) VALUES ",
        );
        push_tuples(&mut sql, backend, size, WIDTH);
        sql.push_str(" ON CONFLICT DO NOTHING RETURNING case_no");
        let mut values: Vec<Value> = Vec::with_capacity(size * WIDTH);
        for row in rows.by_ref().take(size) {
            values.extend([
                row.case_no.into(),
                row.bundle.into(),
                row.version.into(),
                row.region.into(),
                row.status.into(),
                row.closed.into(),
                row.event_count.into(),
                row.accepted_at.into(),
                row.idempotency_key.into(),
                row.created_at.into(),
                row.created_events.into(),
                row.next_timer_at.into(),
                row.timer_held_until.into(),
                row.warning.into(),
                row.due_at.into(),
                row.channel.into(),
            ]);
        }
        let stmt = Statement::from_sql_and_values(backend, sql, values);
        for r in conn.query_all_raw(stmt).await? {
            inserted.insert(r.try_get_by_index::<String>(0)?);
        }
    }
    Ok(inserted)
}

/// Moves cases from their expected version to their new row (ending any claim on their
/// timer); returns the numbers of those
/// moved. A case no longer at its expected version is left out: another writer moved it.
/// This is the version check that keeps two nodes from both applying a command to one case.
///
/// One `UPDATE … FROM (VALUES …)` per chunk (SQLite ≥ 3.33 and PostgreSQL alike; `VALUES`
/// columns are named `column1`, `column2`, … by both).
pub(crate) async fn update_from<C: ConnectionTrait>(
    conn: &C,
    rows: &[(&case::Model, i64)],
) -> Result<HashSet<String>, DbErr> {
    const WIDTH: usize = 10;
    let backend = conn.get_database_backend();
    let mut moved = HashSet::with_capacity(rows.len());
    let mut rows = rows.iter();
    for size in chunk_sizes(rows.len()) {
        let mut sql = String::with_capacity(250 + size * 4 * WIDTH);
        sql.push_str(
            "UPDATE cases SET status = v.column2, closed = v.column3, \
             event_count = v.column4, accepted_at = v.column5, next_timer_at = v.column7, \
             warning = v.column8, due_at = v.column9, version = v.column10, \
             timer_held_until = NULL FROM (VALUES ",
        );
        push_tuples(&mut sql, backend, size, WIDTH);
        sql.push_str(
            ") AS v WHERE cases.case_no = v.column1 AND cases.event_count = v.column6 \
             RETURNING cases.case_no",
        );
        let mut values: Vec<Value> = Vec::with_capacity(size * WIDTH);
        for (row, expected) in rows.by_ref().take(size) {
            values.extend([
                row.case_no.clone().into(),
                row.status.clone().into(),
                row.closed.into(),
                row.event_count.into(),
                row.accepted_at.clone().into(),
                (*expected).into(),
                row.next_timer_at.clone().into(),
                row.warning.clone().into(),
                row.due_at.clone().into(),
                // The bundle version: a migration changes it.
                row.version.into(),
            ]);
        }
        let stmt = Statement::from_sql_and_values(backend, sql, values);
        for r in conn.query_all_raw(stmt).await? {
            moved.insert(r.try_get_by_index::<String>(0)?);
        }
    }
    Ok(moved)
}

/// One case.
pub(crate) async fn find<C: ConnectionTrait>(
    conn: &C,
    case_no: &str,
) -> Result<Option<case::Model>, DbErr> {
    case::Entity::find_by_id(case_no.to_owned()).one(conn).await
}

/// The case created with this idempotency key, with its creating commit's event count.
pub(crate) async fn for_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<(String, Option<i64>)>, DbErr> {
    case::Entity::find()
        .select_only()
        .column(case::Column::CaseNo)
        .column(case::Column::CreatedEvents)
        .filter(case::Column::IdempotencyKey.eq(key))
        .into_tuple()
        .one(conn)
        .await
}

/// Every open case, by case number. `NOT closed` is spelled as in the `cases_open` index's
/// predicate, so SQLite's planner uses it.
pub(crate) async fn open<C: ConnectionTrait>(conn: &C) -> Result<Vec<case::Model>, DbErr> {
    case::Entity::find()
        .filter(Expr::col(case::Column::Closed).not())
        .order_by_asc(case::Column::CaseNo)
        .all(conn)
        .await
}

/// Up to `limit` cases in creation order (`created_at`, then `case_no`: the index
/// `cases_created`) after the case `after`; none when `after` is not a case.
pub(crate) async fn by_creation<C: ConnectionTrait>(
    conn: &C,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<case::Model>, DbErr> {
    let mut q = case::Entity::find()
        .order_by_asc(case::Column::CreatedAt)
        .order_by_asc(case::Column::CaseNo)
        .limit(limit);
    if let Some(after) = after {
        // A case's creation time never changes: read apart from the page, it still holds.
        let created: Option<String> = case::Entity::find_by_id(after.to_owned())
            .select_only()
            .column(case::Column::CreatedAt)
            .into_tuple()
            .one(conn)
            .await?;
        let Some(created) = created else {
            return Ok(Vec::new());
        };
        q = q.filter(
            Condition::any()
                .add(case::Column::CreatedAt.gt(created.clone()))
                .add(
                    Condition::all()
                        .add(case::Column::CreatedAt.eq(created))
                        .add(case::Column::CaseNo.gt(after)),
                ),
        );
    }
    q.all(conn).await
}

/// How many cases there are.
pub(crate) async fn count<C: ConnectionTrait>(conn: &C) -> Result<u64, DbErr> {
    case::Entity::find().count(conn).await
}

/// Up to `limit` cases after `after`, by case number: (case_no, event_count).
pub(crate) async fn page<C: ConnectionTrait>(
    conn: &C,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<(String, i64)>, DbErr> {
    let mut q = case::Entity::find()
        .select_only()
        .column(case::Column::CaseNo)
        .column(case::Column::EventCount)
        .order_by_asc(case::Column::CaseNo)
        .limit(limit);
    if let Some(after) = after {
        q = q.filter(case::Column::CaseNo.gt(after));
    }
    q.into_tuple().all(conn).await
}
