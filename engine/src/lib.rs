//! yijian-engine: cases running on compiled blueprints.
//!
//! A submitted application becomes a case; the case's tasks follow the blueprint's graph;
//! each task goes to its department and its answer comes back as a command; the outcomes
//! merge into one result. The core is a pure state machine ([`decide`] and [`apply`]);
//! everything with I/O or time lives around it.
//!
//! # Quick start
//! ```
//! use std::sync::Arc;
//! use serde_json::json;
//! use yijian_engine::{Decision, Dispatch, Engine, MemoryStore, SubmitRequest, Submission};
//!
//! #[derive(Debug)]
//! struct Approve;
//! impl yijian_engine::Adapter for Approve {
//!     fn dispatch(&self, _: &yijian_engine::Work, _: &yijian_engine::Replier) -> Dispatch {
//!         Dispatch::Decided(Decision::Approve(json!({"licence_no": "91320102MA1XXXXX"})))
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let engine = Engine::builder(MemoryStore::new()).build().await?;
//! engine.deploy(r#"
//! yijian: 1
//! id: demo
//! version: 1
//! title: 示例一件事
//! time_limit: 5wd
//! tasks:
//!   licence: {title: 营业执照, department: market, output: {licence_no: string}}
//!   seal: {title: 印章刻制, department: police, after: [licence]}
//! "#).await?;
//! engine.register_adapter("market", Arc::new(Approve));
//! let case = engine.submit(SubmitRequest {
//!     bundle: "demo".into(),
//!     submission: Submission::default(),
//!     ..SubmitRequest::default()
//! }).await?;
//! assert_eq!(case.task("licence").map(|t| t.status.as_str()), Some("approved"));
//! // `seal` has no adapter: it waits in the police queue for `engine.fetch(..)`.
//! assert_eq!(case.task("seal").map(|t| t.status.as_str()), Some("dispatched"));
//! # Ok::<_, yijian_engine::EngineError>(())
//! # }).unwrap();
//! ```
//!
//! # Layout
//! - [`calendar`]: working-day calendars (statutory holidays, make-up working days) and
//!   time-limit arithmetic.
//! - [`case`]: a case's state; [`command`]: what is asked of it; [`event`]: what happened;
//!   [`rejection`]: why a command was refused.
//! - [`machine`](mod@machine): `decide` and `apply` — pure, no I/O, no clock reads.
//! - [`ids`]: case numbers, task references, actors.
//! - [`adapter`]: how tasks reach back offices; [`clock`]: the injected clock.
//! - [`store`]: storage traits and the in-memory store; [`runtime`]: the [`Engine`] handle.
//! - [`view`]: read models of a case.
//! - `runtime::queue`: built-in department queues (fetch-and-lock with fencing leases).

pub mod adapter;
pub mod calendar;
pub mod case;
pub mod clock;
pub mod command;
mod eval;
pub mod event;
pub mod ids;
pub mod machine;
pub mod migrate;
pub mod preview;
pub mod rejection;
pub mod runtime;
pub mod store;
mod validate;
pub mod view;
pub mod why;

pub use adapter::{Adapter, Decision, Dispatch, Replier, Work};
pub use case::{CaseState, Outcome, UnitStatus};
pub use clock::{Clock, ManualClock, SystemClock};
pub use command::{Action, Command, MaterialRef, Submission, Via};
pub use event::{Event, EventKind};
pub use ids::{Actor, CaseNo, TaskRef};
pub use machine::{apply, decide, decide_in_place, replay};
pub use rejection::{Problem, Rejection};
pub use runtime::{
    Engine, EngineBuilder, EngineError, FetchRequest, LeasedWork, MigrationReport,
    MigrationRequest, SubmitRequest,
};
pub use store::memory::MemoryStore;
pub use view::CaseView;
