//! Query functions, generic over `C: ConnectionTrait` so that each runs on the pool or
//! inside a transaction. They speak in rows (entity models); the store turns rows into
//! engine types.

pub(crate) mod bundle;
pub(crate) mod case;
pub(crate) mod event;

/// Rows per multi-row statement: below SQLite's and PostgreSQL's bound-parameter limits
/// (32 766 and 65 535) for every table here.
pub(crate) const CHUNK: usize = 500;

/// A statement that could not be built (a column/value count mismatch: a bug here).
pub(crate) fn built(e: sea_orm::sea_query::error::Error) -> sea_orm::DbErr {
    sea_orm::DbErr::Custom(format!("statement: {e}"))
}
