//! yijian-engine: cases running on compiled blueprints.
//!
//! A submitted application becomes a case; the case's tasks follow the blueprint's graph;
//! each task goes to its department and its answer comes back as a command; the outcomes
//! merge into one result. The core is a pure state machine ([`decide`] and [`apply`]);
//! everything with I/O or time lives around it.
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

pub mod adapter;
pub mod calendar;
pub mod case;
pub mod clock;
pub mod command;
mod eval;
pub mod event;
pub mod ids;
pub mod machine;
pub mod rejection;
pub mod runtime;
pub mod store;
mod validate;
pub mod view;

pub use adapter::{Adapter, Decision, Dispatch, Replier, Work};
pub use case::{CaseState, Outcome, UnitStatus};
pub use clock::{Clock, ManualClock, SystemClock};
pub use command::{Action, Command, MaterialRef, Submission};
pub use event::{Event, EventKind};
pub use ids::{Actor, CaseNo, TaskRef};
pub use machine::{apply, decide, decide_in_place, replay};
pub use rejection::{Problem, Rejection};
pub use runtime::{Engine, EngineBuilder, EngineError, FetchRequest, LeasedWork, SubmitRequest};
pub use store::memory::MemoryStore;
pub use view::CaseView;
