//! `events`: appended, never updated.

use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::{CHUNK, built};
use crate::entity::event::{Column, Entity, Model};

/// Appends rows with multi-row INSERTs of up to [`CHUNK`] rows each.
pub(crate) async fn insert_many<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<Model>,
) -> Result<(), DbErr> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut stmt = Query::insert();
        stmt.into_table(Entity).columns([
            Column::CaseNo,
            Column::Seq,
            Column::At,
            Column::Kind,
            Column::Body,
            Column::PrevHash,
            Column::Hash,
        ]);
        for r in rows.by_ref().take(CHUNK) {
            stmt.values([
                r.case_no.into(),
                r.seq.into(),
                r.at.into(),
                r.kind.into(),
                r.body.into(),
                r.prev_hash.into(),
                r.hash.into(),
            ])
            .map_err(built)?;
        }
        conn.execute(&stmt).await?;
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
