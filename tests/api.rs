//! The HTTP API over real sockets: each test starts `yijian serve`'s app on 127.0.0.1:0
//! with a SQLite file in a temporary folder and the catalog deployed, and talks to it with
//! reqwest.
//!
//! - `server`: the harness (start, call, restart, stop).
//! - `flows`: end to end with three departments polling concurrently, a supplement round,
//!   a single-task withdrawal, an evaluation; region scopes; leases across a restart.
//! - `authz`: the authorisation matrix, every route × every kind of caller.
//! - `bad_input`: the bad-input catalogue — each asserts the status, the error code, and
//!   that the case's stored events did not change.
//! - `walkthrough`: the steps of docs/walkthrough.md, so the document cannot rot.
//! - `push`: departments bound to webhooks (signed pushes, answers without a lease) and
//!   region bindings mixing `http` and `queue`.
//! - `pages`: the public guide and progress pages in headless Chromium.
//! - `progress`: the public 办事指南 and 办件进度查询: guide = deployed bundle, channels, codes,
//!   masking, wrong-code limits.
//! - `protection`: 503 + `Retry-After` when full or too slow (a request held in flight by
//!   a half-sent body).
//! - `shutdown`: `yijian serve` as a process: SIGTERM drains, the restart keeps leases.
//! - `restart`: what a restart on the same SQLite file keeps — first answers to
//!   idempotent submissions, search over cases closed before it; commit batch sizes in
//!   `/metrics`.
//! - `example`: examples/backoffice_worker.rs run as processes to a finished case.
//! - `catalogue`: docs/bad-input.md row by row; the whole store unchanged after each.
//! - `camunda`: `/engine-rest` endpoint by endpoint: shapes, errors, lock ownership.
//! - `camunda_node`: the published Camunda JavaScript client completes a case.
//! - `camunda_python`: the published Camunda Python client drives a case through
//!   `/engine-rest` to the outcome the native API gives.
//! - `routing`: the router without a socket (`oneshot`): 404/405, OpenAPI, health.

mod authz;
mod bad_input;
mod camunda;
mod camunda_node;
mod camunda_python;
mod catalogue;
mod changes;
mod console;
mod example;
mod flows;
pub(crate) mod migrations;
mod pages;
mod progress;
mod protection;
mod push;
mod restart;
mod routing;
pub(crate) mod server;
mod shutdown;
mod walkthrough;
