//! [`SqlStore`]: the engine's store traits on SQLite or PostgreSQL.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, instrument};
use yijian_engine::case::Warning;
use yijian_engine::store::{
    BlueprintStore, CaseStore, CaseSummary, Commit, CommitStats, Deployed, DeployedBundle,
    EventLog, KeyedCase, Result, StoreError,
};
use yijian_engine::{CaseNo, Event};

use crate::audit::{AuditBreak, BrokenLink, Chain};
use crate::commit::{self, Batching, Job, Stats};
use crate::entity::{bundle, case, event};
use crate::error;
use crate::migration::Migrator;
use crate::options::SqlOptions;
use crate::query;

/// The durable store: one implementation for SQLite and PostgreSQL, chosen by the URL.
/// Clones share one connection pool and one writer.
///
/// Appends are group-committed by a writer task spawned on the current tokio runtime (see
/// the crate docs); reads go straight to the pool. The writer stops once every clone is
/// dropped and the commits already handed to it are written.
#[derive(Clone)]
pub struct SqlStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    writer: mpsc::UnboundedSender<Job>,
    stats: Arc<Stats>,
    hooks: crate::work::Hooks,
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.inner.db.get_database_backend())
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Connects with the default [`SqlOptions`] and migrates the schema.
    ///
    /// - `sqlite://path/yijian.db?mode=rwc`: a file, created if missing (`mode=ro` opens it
    ///   read-only: reads and `verify` work, appends fail with `Unavailable`);
    /// - `sqlite::memory:`: a private in-memory database (tests);
    /// - `postgres://user:password@host:5432/database`.
    ///
    /// # Errors
    /// `Unavailable` if the database cannot be reached or migrated.
    pub async fn connect(url: &str) -> Result<SqlStore> {
        SqlStore::connect_with(url, SqlOptions::default()).await
    }

    /// Connects with these options and migrates the schema; see [`SqlStore::connect`].
    ///
    /// # Errors
    /// `Unavailable` if the database cannot be reached or migrated, or the options are
    /// invalid (a PostgreSQL schema name that is not a plain identifier).
    // The URL may carry a password: it is never logged.
    #[instrument(skip_all, err)]
    pub async fn connect_with(url: &str, options: SqlOptions) -> Result<SqlStore> {
        let scheme = url.split(':').next().unwrap_or_default();
        if !matches!(scheme, "sqlite" | "postgres" | "postgresql") {
            // Said here rather than by the driver, whose message repeats the whole URL.
            return Err(StoreError::Unavailable {
                message: format!(
                    "connect: `{scheme}:` URLs are not supported; use `sqlite:` or `postgres:`"
                ),
            });
        }
        let mut connect = ConnectOptions::new(url);
        connect
            .sqlx_logging(false)
            .acquire_timeout(options.acquire_timeout)
            .connect_timeout(options.acquire_timeout)
            // A ping on every checkout would add a round trip to every group commit; only
            // connections idle long enough to have been dropped by a proxy are pinged.
            .test_before_acquire_if_idle_for(Duration::from_secs(30));
        if url.starts_with("sqlite:") {
            let memory = url.contains(":memory:") || url.contains("mode=memory");
            if memory {
                // One connection, kept open: an in-memory database lives as long as a
                // connection to it.
                connect
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None);
            } else {
                connect.max_connections(options.max_connections);
            }
            let synchronous = options.synchronous.as_sqlx();
            let busy = options.busy_timeout;
            connect.map_sqlx_sqlite_opts(move |o| {
                let o = o
                    .synchronous(synchronous)
                    .busy_timeout(busy)
                    .foreign_keys(true);
                if memory {
                    o
                } else {
                    o.journal_mode(SqliteJournalMode::Wal)
                }
            });
        } else {
            connect.max_connections(options.max_connections);
            if let Some(schema) = &options.schema {
                if !is_identifier(schema) {
                    return Err(StoreError::Unavailable {
                        message: format!(
                            "schema `{schema}`: use letters, digits and `_` only, not starting with a digit"
                        ),
                    });
                }
                connect.set_schema_search_path(schema.clone());
            }
        }
        let db = Database::connect(connect)
            .await
            .map_err(|e| error::db("connect", e))?;
        if db.get_database_backend() == DbBackend::Postgres
            && let Some(schema) = &options.schema
        {
            db.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .await
                .map_err(|e| error::db("connect: create schema", e))?;
        }
        migrate(&db).await?;
        let (writer, jobs) = mpsc::unbounded_channel();
        let stats = Arc::new(Stats::default());
        let hooks = crate::work::Hooks::default();
        let postgres = db.get_database_backend() == DbBackend::Postgres;
        let channel = postgres.then(|| crate::work::channel(options.schema.as_deref()));
        if let Some(channel) = &channel {
            tokio::spawn(crate::work::listen(
                db.get_postgres_connection_pool().clone(),
                channel.clone(),
                hooks.clone(),
            ));
        }
        tokio::spawn(commit::run(
            db.clone(),
            jobs,
            Batching {
                max_batch: options.max_batch,
                max_delay: options.max_delay,
                gather_when_busy: db.get_database_backend() != DbBackend::Sqlite
                    || options.synchronous != crate::Synchronous::Normal,
                notify: channel,
            },
            stats.clone(),
        ));
        Ok(SqlStore {
            inner: Arc::new(Inner {
                db,
                writer,
                stats,
                hooks,
            }),
        })
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.inner.db.get_database_backend()
    }

    pub(crate) fn hooks(&self) -> &crate::work::Hooks {
        &self.inner.hooks
    }

    /// Writes a consistent copy of a SQLite store to `path` while it serves (`VACUUM INTO`:
    /// one read transaction, so the copy is the store at one instant, every commit whole).
    /// The copy is a plain SQLite file: serve it with `--db sqlite://PATH?mode=rw`.
    ///
    /// # Errors
    /// `Unavailable` when the path exists already or cannot be written; `Corrupt` on
    /// PostgreSQL, which is backed up with its own tools (`pg_dump`, docs/store.md).
    #[instrument(skip(self), err)]
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<()> {
        use sea_orm::Statement;
        if self.backend() != DbBackend::Sqlite {
            return Err(StoreError::Corrupt {
                message: "backup_to copies SQLite stores; back PostgreSQL up with pg_dump (docs/store.md)".to_owned(),
            });
        }
        if path.exists() {
            return Err(StoreError::Unavailable {
                message: format!("{} exists already; back up to a new file", path.display()),
            });
        }
        let target = path.to_string_lossy().into_owned();
        self.db()
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "VACUUM INTO ?1",
                [target.into()],
            ))
            .await
            .map_err(|e| error::db("backup", e))?;
        Ok(())
    }

    /// Recomputes the audit chains of one case (`Some`) or of every case (`None`) and
    /// returns the first broken link of each broken case; empty means intact. An unknown
    /// case has no chain to break.
    ///
    /// The chain shows any edit, removal or reordering of stored events, but not a rewrite
    /// of a whole chain from some event on, nor the removal of a case's latest events
    /// together with its row's count: keep the latest hashes elsewhere to catch those.
    ///
    /// # Errors
    /// `Corrupt` naming the case and event when an event whose chain is intact does not
    /// parse (it was written by a newer version, or by hand); `Unavailable`.
    #[instrument(skip(self), err)]
    pub async fn verify(&self, case: Option<&CaseNo>) -> Result<Vec<AuditBreak>> {
        let db = &self.inner.db;
        let fail = |e| error::db("verify", e);
        let mut breaks = Vec::new();
        if let Some(case_no) = case {
            let Some(row) = query::case::find(db, case_no.as_str())
                .await
                .map_err(fail)?
            else {
                return Ok(breaks);
            };
            let events = query::event::of_case(db, case_no.as_str(), None)
                .await
                .map_err(fail)?;
            breaks.extend(check_case(case_no.as_str(), row.event_count, &events)?);
            return Ok(breaks);
        }
        const PAGE: u64 = 500;
        let mut after: Option<String> = None;
        loop {
            let page = query::case::page(db, after.as_deref(), PAGE)
                .await
                .map_err(fail)?;
            let Some((last, _)) = page.last() else {
                return Ok(breaks);
            };
            after = Some(last.clone());
            let nos: Vec<String> = page.iter().map(|(c, _)| c.clone()).collect();
            let events = query::event::of_cases(db, &nos).await.map_err(fail)?;
            let mut rest = events.as_slice();
            for (case_no, count) in &page {
                let n = rest.iter().take_while(|e| &e.case_no == case_no).count();
                let (mine, tail) = rest.split_at(n);
                rest = tail;
                breaks.extend(check_case(case_no, *count, mine)?);
            }
        }
    }
}

/// Applies pending migrations. Checked read-only first, so a read-only database that is
/// up to date opens; retried once, for two nodes migrating one PostgreSQL at once.
async fn migrate(db: &DatabaseConnection) -> Result<()> {
    let pending = |e| error::db("connect: migrations", e);
    if Migrator::get_pending_migrations_read_only(db)
        .await
        .map_err(pending)?
        .is_empty()
    {
        return Ok(());
    }
    info!("migrating the store's schema");
    if let Err(e) = Migrator::up(db, None).await {
        let still = Migrator::get_pending_migrations_read_only(db)
            .await
            .map_err(pending)?;
        if !still.is_empty() {
            return Err(error::db("connect: migrate", e));
        }
    }
    Ok(())
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

/// Checks one case's stored chain; `Err` only for an intact event that does not parse.
fn check_case(
    case_no: &str,
    event_count: i64,
    rows: &[event::Model],
) -> Result<Option<AuditBreak>> {
    let at = |seq, link| AuditBreak {
        case_no: CaseNo::new(case_no),
        seq,
        link,
    };
    let mut chain = Chain::new();
    for row in rows {
        if let Err((seq, link)) = chain.check(row) {
            return Ok(Some(at(seq, link)));
        }
        parse_event(case_no, row)?;
    }
    let stored = chain.len();
    let count = u64::try_from(event_count).unwrap_or(u64::MAX);
    if count != stored {
        return Ok(Some(at(
            stored.min(count) + 1,
            BrokenLink::Count {
                expected: stored,
                found: count,
            },
        )));
    }
    Ok(None)
}

fn parse_event(case_no: &str, row: &event::Model) -> Result<Event> {
    serde_json::from_str(&row.body).map_err(|e| StoreError::Corrupt {
        message: format!(
            "case {case_no} event {}: the stored body does not parse: {e}",
            row.seq
        ),
    })
}

/// A timestamp as stored: RFC 3339 in UTC with nine fractional digits, so that text order
/// is time order.
pub(crate) fn text_of(t: Timestamp) -> String {
    format!("{t:.9}")
}

pub(crate) fn time_of(what: &str, s: &str) -> Result<Timestamp> {
    s.parse().map_err(|e| StoreError::Corrupt {
        message: format!("{what}: `{s}` is not a timestamp: {e}"),
    })
}

pub(crate) fn summary_of(row: case::Model) -> Result<CaseSummary> {
    let what = || format!("case {}", row.case_no);
    Ok(CaseSummary {
        version: u32::try_from(row.version)
            .map_err(|_| error::out_of_range(&what(), row.version))?,
        event_count: u64::try_from(row.event_count)
            .map_err(|_| error::out_of_range(&what(), row.event_count))?,
        accepted_at: row
            .accepted_at
            .as_deref()
            .map(|t| time_of(&what(), t))
            .transpose()?,
        case_no: CaseNo::new(&row.case_no),
        bundle: row.bundle.into(),
        region: row.region.into(),
        next_timer: row
            .next_timer_at
            .as_deref()
            .map(|t| time_of(&what(), t))
            .transpose()?,
        warning: Warning::from_name(&row.warning).unwrap_or_default(),
        due: row
            .due_at
            .as_deref()
            .map(|t| time_of(&what(), t))
            .transpose()?,
        channel: row.channel.map(Into::into),
        status: row.status.into(),
        closed: row.closed,
    })
}

fn deployed_of(row: bundle::Model) -> Result<DeployedBundle> {
    Ok(DeployedBundle {
        version: u32::try_from(row.version)
            .map_err(|_| error::out_of_range(&format!("bundle {}", row.id), row.version))?,
        id: row.id,
        yaml: row.yaml,
        hash: row.hash,
    })
}

impl EventLog for SqlStore {
    fn append(&self, commit: Commit) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        // Ordered here, at call time: the channel keeps the order of the calls.
        let (reply, answer) = oneshot::channel();
        let sent = commit::prepare(commit, reply).and_then(|job| {
            self.inner
                .writer
                .send(job)
                .map_err(|_| StoreError::Unavailable {
                    message: "append: the store's writer has stopped".into(),
                })
        });
        async move {
            sent?;
            answer.await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable {
                    message: "append: the store's writer stopped before answering".into(),
                })
            })
        }
    }

    async fn read(&self, case_no: &CaseNo) -> Result<Option<(CaseSummary, Vec<Event>)>> {
        let db = &self.inner.db;
        let fail = |e| error::db("read", e);
        let Some(row) = query::case::find(db, case_no.as_str())
            .await
            .map_err(fail)?
        else {
            return Ok(None);
        };
        let count = row.event_count;
        // Events are append-only and written with their case row: every event the row
        // counts is there, and later ones (a commit landing meanwhile) are left out.
        let rows = query::event::of_case(db, case_no.as_str(), Some(count))
            .await
            .map_err(fail)?;
        let summary = summary_of(row)?;
        let mut chain = Chain::new();
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            chain.check(r).map_err(|(seq, link)| StoreError::Corrupt {
                message: format!("case {case_no} event {seq}: {link}"),
            })?;
            events.push(parse_event(case_no.as_str(), r)?);
        }
        if chain.len() != summary.event_count {
            return Err(StoreError::Corrupt {
                message: format!(
                    "case {case_no}: the case row counts {} events, {} are stored",
                    summary.event_count,
                    chain.len()
                ),
            });
        }
        Ok(Some((summary, events)))
    }

    /// Every transaction the writer committed, with its number of commits.
    fn commit_stats(&self) -> Option<CommitStats> {
        Some(self.inner.stats.snapshot())
    }
}

impl CaseStore for SqlStore {
    async fn case_for_key(&self, key: &str) -> Result<Option<KeyedCase>> {
        let found = query::case::for_key(&self.inner.db, key)
            .await
            .map_err(|e| error::db("case_for_key", e))?;
        let Some((case_no, created)) = found else {
            return Ok(None);
        };
        let created_events = created
            .map(|n| {
                u64::try_from(n)
                    .map_err(|_| error::out_of_range(&format!("case {case_no}: created events"), n))
            })
            .transpose()?;
        Ok(Some(KeyedCase {
            case_no: CaseNo::new(case_no),
            created_events,
        }))
    }

    async fn cases(&self, after: Option<&CaseNo>, limit: usize) -> Result<Vec<CaseSummary>> {
        // PostgreSQL's LIMIT is a bigint.
        let limit = i64::try_from(limit).map_or(i64::MAX.unsigned_abs(), i64::unsigned_abs);
        query::case::by_creation(&self.inner.db, after.map(CaseNo::as_str), limit)
            .await
            .map_err(|e| error::db("cases", e))?
            .into_iter()
            .map(summary_of)
            .collect()
    }

    async fn open_cases(&self) -> Result<Vec<CaseSummary>> {
        query::case::open(&self.inner.db)
            .await
            .map_err(|e| error::db("open_cases", e))?
            .into_iter()
            .map(summary_of)
            .collect()
    }

    async fn case_count(&self) -> Result<u64> {
        query::case::count(&self.inner.db)
            .await
            .map_err(|e| error::db("case_count", e))
    }
}

impl BlueprintStore for SqlStore {
    async fn deploy(&self, b: DeployedBundle) -> Result<Deployed> {
        let db = &self.inner.db;
        let fail = |e| error::db("deploy", e);
        let version = i64::from(b.version);
        let row = bundle::Model {
            id: b.id.clone(),
            version,
            yaml: b.yaml,
            hash: b.hash.clone(),
            deployed_at: text_of(Timestamp::now()),
        };
        if query::bundle::insert_if_absent(db, row)
            .await
            .map_err(fail)?
        {
            return Ok(Deployed::Created);
        }
        match query::bundle::find(db, &b.id, version)
            .await
            .map_err(fail)?
        {
            Some(existing) if existing.hash == b.hash => Ok(Deployed::Unchanged),
            Some(_) => Err(StoreError::BundleExists {
                id: b.id,
                version: b.version,
            }),
            None => Err(StoreError::Unavailable {
                message: format!(
                    "deploy: bundle {} version {} was neither inserted nor found",
                    b.id, b.version
                ),
            }),
        }
    }

    async fn bundle(&self, id: &str, version: u32) -> Result<Option<DeployedBundle>> {
        query::bundle::find(&self.inner.db, id, i64::from(version))
            .await
            .map_err(|e| error::db("bundle", e))?
            .map(deployed_of)
            .transpose()
    }

    async fn bundles(&self) -> Result<Vec<DeployedBundle>> {
        query::bundle::all(&self.inner.db)
            .await
            .map_err(|e| error::db("bundles", e))?
            .into_iter()
            .map(deployed_of)
            .collect()
    }
}
