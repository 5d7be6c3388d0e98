//! yijian-definitions: the bundle DSL ("一件事" process definitions in YAML).
//!
//! Text goes in; a checked, compiled [`Blueprint`] comes out, or a list of every
//! [`Diagnostic`] (stable code, file:line:col, message, hint) explaining what to fix.
//! Nothing here does I/O beyond what the caller hands in: no tokio, no database.
//!
//! # Layout
//! - `yaml`: YAML text → a tree whose every key and value knows its place (serde-saphyr,
//!   with budgets against YAML bombs).
//! - `read`: the tree → [`BundleDef`] (the model as written), reporting every problem.
//! - [`check`](mod@check): semantic checks (graph, expressions, time) and compiling to a [`Blueprint`].
//! - `expr`: CEL expressions and the variable paths they read.
//! - [`render`](mod@render): Mermaid and DOT pictures.
//! - [`schema`](mod@schema): the JSON Schema of the DSL.
//! - [`guide`](mod@guide): the 办事指南 generated from a blueprint (HTML, Markdown).
//!
//! # Quick start
//! ```
//! use yijian_definitions::{CheckOptions, check};
//!
//! let yaml = r#"
//! yijian: 1
//! id: demo
//! version: 1
//! title: 示例一件事
//! time_limit: 5wd
//! form:
//!   name: {type: string, required: true}
//! tasks:
//!   licence:
//!     title: 营业执照
//!     department: market
//!     input: {name: form.name}
//!     output: {licence_no: string}
//!   tax:
//!     title: 税务登记
//!     department: tax
//!     after: [licence]
//!     input: {licence_no: tasks.licence.output.licence_no}
//! "#;
//! let checked = check(yaml, &CheckOptions::default());
//! assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
//! let blueprint = checked.blueprint.expect("no errors, so compiled");
//! assert_eq!(blueprint.tasks.len(), 2);
//! assert_eq!(blueprint.task("tax").map(|t| t.upstream.len()), Some(1));
//! ```

pub mod blueprint;
pub mod check;
pub mod diagnostic;
pub mod duration;
mod expr;
mod graph;
pub mod guide;
pub mod keys;
pub mod model;
mod read;
pub mod render;
pub mod schema;
mod yaml;

pub use blueprint::{
    Blueprint, FieldRule, MaterialOrigin, MaterialSpec, TaskIdx, TaskMode, TaskSpec,
};
pub use check::{CheckOptions, Checked, check, check_bytes, compile};
pub use diagnostic::{Code, Diagnostic, Pos, Severity};
pub use duration::{Duration, DurationError, DurationUnit};
pub use expr::{Expr, ExprError};
pub use graph::EdgeKind;
pub use model::{BundleDef, Mode, OnDeferredOverdue, OnReject, OutputType, PauseScope, Warn};
pub use render::{GraphFormat, render};
pub use schema::{schema, schema_text};
pub use yaml::Limits;
