//! How a [`SqlStore`](crate::SqlStore) connects and commits.

use std::time::Duration;

/// SQLite's `synchronous` setting: when a commit is flushed to the disk. The store always
/// runs SQLite in WAL mode; see `docs/store.md` for what each level means for durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// The WAL is synced at checkpoints, not at each commit. A committed transaction survives
    /// a crash of the process; a power loss or OS crash may lose the last transactions (never
    /// corrupt the database). The default: it is what makes group commit cheap.
    #[default]
    Normal,
    /// The WAL is synced at every commit: a committed transaction survives power loss too.
    Full,
    /// As `Full`, and the directory is synced too when the WAL is reset.
    Extra,
}

impl Synchronous {
    pub(crate) fn as_sqlx(self) -> sea_orm::sqlx::sqlite::SqliteSynchronous {
        use sea_orm::sqlx::sqlite::SqliteSynchronous as S;
        match self {
            Synchronous::Normal => S::Normal,
            Synchronous::Full => S::Full,
            Synchronous::Extra => S::Extra,
        }
    }
}

/// Settings of a [`SqlStore`](crate::SqlStore). Start from `SqlOptions::default()`.
#[derive(Debug, Clone)]
pub struct SqlOptions {
    pub(crate) synchronous: Synchronous,
    pub(crate) busy_timeout: Duration,
    pub(crate) max_connections: u32,
    pub(crate) acquire_timeout: Duration,
    pub(crate) max_batch: usize,
    pub(crate) max_delay: Duration,
    pub(crate) schema: Option<String>,
}

impl Default for SqlOptions {
    fn default() -> Self {
        SqlOptions {
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            max_batch: 512,
            max_delay: Duration::from_millis(1),
            schema: None,
        }
    }
}

impl SqlOptions {
    /// SQLite: when commits reach the disk (default [`Synchronous::Normal`]).
    #[must_use]
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// SQLite: how long a statement waits for another connection's lock before failing with
    /// `Unavailable` (default 5 s).
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Connections in the pool (default 8; an in-memory SQLite database always uses one).
    /// Reads use the pool; all appends go through one writer, which takes one connection
    /// per batch.
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long to wait for a pooled connection, connecting included, before failing with
    /// `Unavailable` (default 10 s).
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Group commit: the most commits written in one transaction (default 512).
    #[must_use]
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n.max(1);
        self
    }

    /// Group commit: how long the writer waits for more commits after the first of a batch
    /// arrives (default 1 ms; zero writes whatever is queued at once). Commits that arrive
    /// while a batch is being written always join the next batch; on SQLite at `Normal`
    /// that batch is written without waiting, elsewhere (PostgreSQL, `Full`, `Extra`: every
    /// transaction flushed) the writer gathers for `max_delay` every time.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// PostgreSQL: the schema holding the tables (created if missing; default: the
    /// connection's `search_path`, usually `public`). Lets several deployments or test runs
    /// share one database.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}
