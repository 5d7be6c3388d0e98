//! From `sea_orm::DbErr` to the engine's `StoreError`. The database's own error never leaves
//! the crate: callers see `Unavailable` (retry later may help) or `Corrupt` (the stored data
//! cannot be read back), with what the database said in words.

use sea_orm::{DbErr, RuntimeErr};
use yijian_engine::store::StoreError;

/// Classifies a database error met while doing `what`.
pub(crate) fn db(what: &str, e: DbErr) -> StoreError {
    match &e {
        DbErr::Type(_) | DbErr::Json(_) | DbErr::TryIntoErr { .. } | DbErr::ConvertFromU64(_) => {
            StoreError::Corrupt {
                message: format!("{what}: {e}"),
            }
        }
        DbErr::Query(RuntimeErr::SqlxError(sqlx)) | DbErr::Exec(RuntimeErr::SqlxError(sqlx))
            if matches!(
                **sqlx,
                sea_orm::sqlx::Error::ColumnDecode { .. } | sea_orm::sqlx::Error::Decode(_)
            ) =>
        {
            StoreError::Corrupt {
                message: format!("{what}: {e}"),
            }
        }
        _ if is_read_only(&e) => StoreError::Unavailable {
            message: format!("{what}: the database is read-only ({e})"),
        },
        _ => StoreError::Unavailable {
            message: format!("{what}: {e}"),
        },
    }
}

/// PostgreSQL `40P01` (deadlock_detected): the transaction was aborted to break a lock
/// cycle with another one; nothing of it was written and it may be tried again.
pub(crate) fn is_deadlock(e: &DbErr) -> bool {
    code_of(e).is_some_and(|c| c == "40P01")
}

/// The database's error code (SQLite: the extended result code; PostgreSQL: SQLSTATE).
fn code_of(e: &DbErr) -> Option<String> {
    let (DbErr::Query(RuntimeErr::SqlxError(sqlx))
    | DbErr::Exec(RuntimeErr::SqlxError(sqlx))
    | DbErr::Conn(RuntimeErr::SqlxError(sqlx))) = e
    else {
        return None;
    };
    let sea_orm::sqlx::Error::Database(db) = &**sqlx else {
        return None;
    };
    db.code().map(|c| c.into_owned())
}

/// SQLite `SQLITE_READONLY` (and its extended codes), PostgreSQL `25006`
/// (read_only_sql_transaction, e.g. a hot standby).
fn is_read_only(e: &DbErr) -> bool {
    let Some(code) = code_of(e) else {
        return false;
    };
    // SQLite reports the extended code; its low byte is the primary code (8 = READONLY).
    let sqlite_readonly = code.parse::<i32>().is_ok_and(|c| c & 0xff == 8);
    sqlite_readonly || code == "25006"
}

/// A value that does not fit the column (or comes back out of range).
pub(crate) fn out_of_range(what: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        message: format!("{what}: {value} is out of range"),
    }
}

/// Stored data that cannot be read back.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt {
        message: format!("{what} is not valid"),
    }
}
