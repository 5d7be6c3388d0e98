//! yijian (一件, "one thing"): a workflow engine for Chinese government "一件事" bundled
//! approvals. One application, made once at one window, is split into parallel department
//! tasks; each department decides its part; the results merge into one outcome.
//!
//! This root crate re-exports the workspace crates and hosts the `yijian` command.
//!
//! # Layout
//! - [`definitions`]: the YAML DSL — parse, check, compile to a blueprint, render.
//! - [`engine`]: cases running on blueprints, calendars, stores, the runtime.
//! - [`adapters`]: outbound adapters to department back offices.
//! - [`report`]: human and JSON rendering of check findings.
//! - [`serve`]: the HTTP service (`yijian serve`).
//! - [`simulate`]: dry runs of a case on a scripted clock (`yijian simulate`).

pub mod report;
pub mod serve;
pub mod simulate;

pub use yijian_adapters as adapters;
pub use yijian_definitions as definitions;
pub use yijian_engine as engine;
