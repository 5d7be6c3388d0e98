//! `bundles`: deployed bundle versions; id+version is immutable.

use sea_orm::entity::prelude::*;

/// One deployed bundle version.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bundles")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) version: i64,
    #[sea_orm(column_type = "Text")]
    pub(crate) yaml: String,
    pub(crate) hash: String,
    /// RFC 3339, UTC, nine fractional digits (sorts as text).
    pub(crate) deployed_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
