//! The HTTP API over real sockets: each test starts `yijian serve`'s app on 127.0.0.1:0
//! with a SQLite file in a temporary folder and the catalog deployed, and talks to it with
//! reqwest.
//!
//! - `server`: the harness (start, call, restart, stop).
//! - `flows`: end to end with three departments polling concurrently, a supplement round,
//!   a single-task withdrawal, an evaluation; region scopes; leases across a restart.
//! - `bad_input`: the bad-input catalogue — each asserts the status, the error code, and
//!   that the case's stored events did not change.
//! - `walkthrough`: the steps of docs/walkthrough.md, so the document cannot rot.
//! - `routing`: the router without a socket (`oneshot`): 404/405, OpenAPI, health.

mod bad_input;
mod flows;
mod routing;
mod server;
mod walkthrough;
