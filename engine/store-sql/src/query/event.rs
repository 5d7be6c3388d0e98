//! `events`: appended, never updated.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Statement, Value,
};

use super::{chunk_sizes, push_tuples};
use crate::entity::event::{Column, Entity, Model};

/// Appends rows with multi-row INSERTs (see [`chunk_sizes`]). The rows' strings are moved
/// into the statements (sea-orm's driver still copies each value once when it binds it).
pub(crate) async fn insert_many<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<Model>,
) -> Result<(), DbErr> {
    const WIDTH: usize = 7;
    let backend = conn.get_database_backend();
    let mut rows = rows.into_iter();
    for size in chunk_sizes(rows.len()) {
        let mut sql = String::with_capacity(80 + size * 4 * WIDTH);
        sql.push_str("INSERT INTO events (case_no, seq, at, kind, body, prev_hash, hash) VALUES ");
        push_tuples(&mut sql, backend, size, WIDTH);
        let mut values: Vec<Value> = Vec::with_capacity(size * WIDTH);
        for r in rows.by_ref().take(size) {
            values.extend([
                r.case_no.into(),
                r.seq.into(),
                r.at.into(),
                r.kind.into(),
                r.body.into(),
                r.prev_hash.into(),
                r.hash.into(),
            ]);
        }
        conn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// A case's events up to `upto` (inclusive; all when `None`), oldest first.
pub(crate) async fn of_case<C: ConnectionTrait>(
    conn: &C,
    case_no: &str,
    upto: Option<i64>,
) -> Result<Vec<Model>, DbErr> {
    let mut q = Entity::find().filter(Column::CaseNo.eq(case_no));
    if let Some(upto) = upto {
        q = q.filter(Column::Seq.lte(upto));
    }
    q.order_by_asc(Column::Seq).all(conn).await
}

/// The events of these cases, by case then seq.
pub(crate) async fn of_cases<C: ConnectionTrait>(
    conn: &C,
    case_nos: &[String],
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::CaseNo.is_in(case_nos.iter().map(String::as_str)))
        .order_by_asc(Column::CaseNo)
        .order_by_asc(Column::Seq)
        .all(conn)
        .await
}
