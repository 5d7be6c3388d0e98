//! yijian-store-sql: the durable store of the yijian engine — one sea-orm implementation of
//! the engine's store traits for SQLite (the embedded default) and PostgreSQL (several nodes),
//! chosen by the URL.
//!
//! - **Group commit.** [`EventLog::append`](yijian_engine::store::EventLog::append) orders a
//!   commit when it is called and hands it to one writer task, which writes many cases'
//!   commits in one transaction and answers each only after that transaction commits
//!   (durable before acknowledged).
//! - **Optimistic concurrency.** A case row carries its version (`event_count`); a commit
//!   decided on another version is refused with `Conflict` and not written, even when two
//!   nodes share one PostgreSQL.
//! - **Tamper-evident audit trail (全程留痕).** Every event row stores
//!   `hash = sha256(prev_hash ‖ seq ‖ body)`, chained per case. [`SqlStore::verify`]
//!   recomputes the chains; reads refuse a broken chain as `Corrupt`.
//!
//! `docs/store.md` is the integrator's guide: URLs, SQLite durability settings, the group
//! commit knobs, the schema, auditing, PostgreSQL for several nodes.
//!
//! # Layout
//! - [`store`](SqlStore): connecting, migrating, and the store traits.
//! - `commit`: the group-commit writer.
//! - [`audit`](AuditBreak): the hash chain and what a broken link looks like.
//! - [`options`](SqlOptions): SQLite `synchronous`, pool size, batch size and delay.
//! - `query`, `entity`, `migration`: private; sea-orm types never leave the crate.
//! - `conformance` (feature `test-util`): the contract every store must meet, as checks.
//!
//! # Quick start
//! ```no_run
//! use yijian_engine::Engine;
//! use yijian_store_sql::SqlStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = SqlStore::connect("sqlite://yijian.db?mode=rwc").await?;
//! let engine = Engine::builder(store.clone()).build().await?;
//! engine.recover().await?;
//! // … deploy bundles, submit cases …
//! assert!(store.verify(None).await?.is_empty(), "the audit trail is intact");
//! # Ok(())
//! # }
//! ```

mod audit;
mod commit;
#[cfg(feature = "test-util")]
pub mod conformance;
mod entity;
mod error;
mod migration;
mod options;
mod query;
mod store;
mod work;

pub use audit::{AuditBreak, BrokenLink};
pub use options::{SqlOptions, Synchronous};
pub use store::SqlStore;
