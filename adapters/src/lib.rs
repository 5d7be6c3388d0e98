//! yijian-adapters: how tasks leave the engine for department back offices.
//!
//! Every adapter implements [`yijian_engine::Adapter`] and is registered per department
//! with [`Engine::register_adapter`](yijian_engine::Engine::register_adapter).
//!
//! # Layout
//! - [`in_process`]: closures in the integrator's own program, answering at once or later.
//! - [`rules`]: automatic decisions by CEL rules over the task's input.
//! - [`webhook`]: the `http` adapter: signed POSTs to a back office, retried with backoff.
//!
//! # Quick start
//! ```
//! use std::sync::Arc;
//! use serde_json::json;
//! use yijian_adapters::in_process::InProcess;
//! use yijian_engine::{Decision, Engine, MemoryStore};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let engine = Engine::builder(MemoryStore::new()).build().await.unwrap();
//! engine.register_adapter("market", Arc::new(InProcess::new(|_work| {
//!     Decision::Approve(json!({"licence_no": "91320102MA1XXXXX"}))
//! })));
//! # });
//! ```

pub mod in_process;
pub mod rules;
pub mod webhook;
