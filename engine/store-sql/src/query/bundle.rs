//! `bundles`.

use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::bundle::{Column, Entity, Model};

/// Inserts the version unless id+version exists; true if inserted.
pub(crate) async fn insert_if_absent<C: ConnectionTrait>(
    conn: &C,
    row: Model,
) -> Result<bool, DbErr> {
    let stmt = Query::insert()
        .into_table(Entity)
        .columns([
            Column::Id,
            Column::Version,
            Column::Yaml,
            Column::Hash,
            Column::DeployedAt,
        ])
        .values([
            row.id.into(),
            row.version.into(),
            row.yaml.into(),
            row.hash.into(),
            row.deployed_at.into(),
        ])
        .map_err(super::built)?
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    Ok(conn.execute(&stmt).await?.rows_affected() == 1)
}

/// One version.
pub(crate) async fn find<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    version: i64,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::Id.eq(id))
        .filter(Column::Version.eq(version))
        .one(conn)
        .await
}

/// Every version, by id then version.
pub(crate) async fn all<C: ConnectionTrait>(conn: &C) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .order_by_asc(Column::Id)
        .order_by_asc(Column::Version)
        .all(conn)
        .await
}
