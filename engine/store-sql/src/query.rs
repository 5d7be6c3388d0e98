//! Query functions, generic over `C: ConnectionTrait` so that each runs on the pool or
//! inside a transaction. They speak in rows (entity models); the store turns rows into
//! engine types.

pub(crate) mod bundle;
pub(crate) mod case;
pub(crate) mod event;
pub(crate) mod task;

use sea_orm::DbBackend;

/// Rows per multi-row statement: below SQLite's and PostgreSQL's bound-parameter limits
/// (32 766 and 65 535) for every table here.
pub(crate) const CHUNK: usize = 512;

/// A statement that could not be built (a column/value count mismatch: a bug here).
pub(crate) fn built(e: sea_orm::sea_query::error::Error) -> sea_orm::DbErr {
    sea_orm::DbErr::Custom(format!("statement: {e}"))
}

/// How `n` rows are split into multi-row statements: [`CHUNK`]s, then the powers of two
/// of the rest, largest first. Each statement kind then has only a few texts (one per
/// size), which the driver's per-connection statement cache keeps prepared.
pub(crate) fn chunk_sizes(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if n == 0 {
            return None;
        }
        let size = if n >= CHUNK { CHUNK } else { 1 << n.ilog2() };
        n -= size;
        Some(size)
    })
}

/// Appends `rows` tuples of `width` bound parameters, `(?, ?), (?, ?)` or
/// `($1, $2), ($3, $4)`, numbered from 1.
pub(crate) fn push_tuples(sql: &mut String, backend: DbBackend, rows: usize, width: usize) {
    use std::fmt::Write as _;
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push(',');
            }
            n += 1;
            match backend {
                DbBackend::Postgres => {
                    let _ = write!(sql, "${n}");
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_few_sizes_and_cover_every_row() {
        for n in [0, 1, 2, 3, 7, 100, 511, 512, 513, 1500] {
            let sizes: Vec<usize> = chunk_sizes(n).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= CHUNK));
        }
        assert_eq!(chunk_sizes(100).collect::<Vec<_>>(), [64, 32, 4]);
        assert_eq!(chunk_sizes(1100).collect::<Vec<_>>(), [512, 512, 64, 8, 4]);
    }

    #[test]
    fn tuples_in_each_syntax() {
        let mut s = String::new();
        push_tuples(&mut s, DbBackend::Sqlite, 2, 2);
        assert_eq!(s, "(?,?),(?,?)");
        let mut s = String::new();
        push_tuples(&mut s, DbBackend::Postgres, 2, 2);
        assert_eq!(s, "($1,$2),($3,$4)");
    }
}
