//! What in-flight changes leave on a unit: a reassignment (改派) to another region, and a
//! send-back (退回) of its result. Kept in one box per unit, absent on almost every unit,
//! so that a waiting case stays small.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ids::TaskRef;

/// The in-flight changes made to one unit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnitChange {
    /// The region (区划代码) whose department now handles the unit, after a reassignment;
    /// `None`: the case's region.
    pub region: Option<Arc<str>>,
    /// The latest send-back of the unit's result, while it is being redone (and after, as
    /// a record of the last one).
    pub sent_back: Option<SentBack>,
    /// How many times its result was sent back (limited by the task's `send_back.max`).
    pub send_backs: u32,
}

/// A result returned by a downstream department (退回), as the redoing department sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentBack {
    /// The task whose department sent it back.
    pub by: TaskRef,
    /// Why, in the sending department's words.
    pub reason: String,
    /// The output it had approved before.
    pub previous_output: Option<Arc<serde_json::Value>>,
    /// When.
    pub at: jiff::Timestamp,
}
