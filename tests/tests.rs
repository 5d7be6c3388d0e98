//! Integration tests of the `yijian` package, one binary.
//!
//! - `api`: the HTTP service over real sockets (`yijian serve`'s app, SQLite in a temp dir).
//! - `backup`: `yijian backup` while serving; the copy verifies and continues the open cases.
//! - `catalog`: every shipped bundle checks without errors and draws.
//! - `cli`: the `yijian` command as a designer runs it.
//! - `failover`: three `yijian serve` processes on one PostgreSQL, two killed with SIGKILL.
//! - `migrate_kill`: `yijian migrate --run` killed with SIGKILL three times resumes; no case twice.
//! - `openapi_fuzz`: schemathesis against the served OpenAPI of a `yijian serve` process.
//! - `pg_outage`: PostgreSQL stopped and started under load; nothing lost, the node heals.
//! - `process`: `yijian serve` as a process, for the tests that need one.
//! - `recovery`: a child process killed with SIGKILL 20 times on a SQLite file loses nothing.
//! - `sqlite_full`: SQLite on a full disk refuses writes, loses nothing, heals with space.
//! - `webhook_kill`: `yijian serve` with a webhook back office killed 8 times; no delivery applied twice.
//! - `simulate`: `yijian simulate` scripts and `yijian calendar add`, run as processes.
//! - `simulate_changes`: simulate scripts of 退回, 加办 and 改派, their dates and refusals.

mod api;
mod backup;
mod catalog;
mod cli;
mod failover;
mod migrate_kill;
mod openapi_fuzz;
mod pg_outage;
mod process;
mod recovery;
mod simulate;
mod simulate_changes;
mod sqlite_full;
mod webhook_kill;
