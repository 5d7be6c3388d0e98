//! Integration tests of the SQL store (one binary).
//!
//! PostgreSQL tests run when `DATABASE_URL` is set (each in a fresh schema) and print a
//! note otherwise: `bash .ci/postgres.sh && source .ci/postgres.env` provides one.

/// The audit chain: intact, tampered, unreadable.
mod audit;
/// Two engines on one store: leases, conflicts, wake-ups.
mod cluster;
/// The conformance suite on memory, SQLite (file and memory) and PostgreSQL.
mod conformance;
/// The engine end to end on a SQLite file, dropped, rebuilt and recovered.
mod engine;
/// Faults: a read-only database.
mod faults;
/// Group commit: batching, conflicts inside a batch.
mod group_commit;
/// Shared helpers: temp files, PostgreSQL schemas, raw SQL.
mod support;
