//! Bodies of the in-flight changes: 退回 (send back), 加办 (add an item) and its reverse,
//! 改派 (reassign).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::MaterialBody;

/// `POST /v1/tasks/{task_id}/send-back`: the department of the task in the path returns
/// an upstream task's result to be redone.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBackBody {
    /// The upstream task whose result is returned (e.g. `tax`).
    pub upstream: String,
    /// Why, for the department that redoes it (required).
    pub reason: String,
    /// The lease's token on the caller's own task (left out by a back office answering a
    /// pushed task).
    #[serde(default)]
    pub lease_token: Option<u64>,
}

/// `POST /v1/cases/{case_no}/items`: 加办, an optional item added to the running case.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemBody {
    /// The task (item) to add, e.g. `housing_fund`.
    pub task: String,
    /// Form changes that make its `when` true (e.g. `{"open_housing_fund": true}`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub form: Map<String, Value>,
    /// Its materials.
    #[serde(default)]
    pub materials: BTreeMap<String, MaterialBody>,
    /// The channel (default `window`).
    #[serde(default)]
    pub channel: Option<String>,
    /// The window, terminal or portal that took it (default: the token's name).
    #[serde(default)]
    pub taken_by: Option<String>,
}

/// `POST /v1/cases/{case_no}/items/{task}/remove`: an optional item not yet dispatched is
/// left out.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveItemBody {
    /// Why (required).
    pub reason: String,
}

/// `POST /v1/tasks/{task_id}/reassign`: 改派 to the department of the same kind in
/// another region.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignBody {
    /// The region code (区划代码, 2–12 digits) whose department takes the task.
    pub region: String,
    /// Why (required).
    pub reason: String,
}

/// A send-back (退回) of a task's result: on the case's task and on the work fetched again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SentBackBody {
    /// The task whose department returned the result.
    pub by: String,
    /// Why.
    pub reason: String,
    /// The output approved before.
    #[schema(value_type = Option<Object>)]
    pub previous_output: Option<Value>,
    /// When (RFC 3339).
    pub at: String,
}

impl From<&yijian_engine::view::SentBackView> for SentBackBody {
    fn from(b: &yijian_engine::view::SentBackView) -> SentBackBody {
        SentBackBody {
            by: b.by.clone(),
            reason: b.reason.clone(),
            previous_output: b.previous_output.clone(),
            at: b.at.to_string(),
        }
    }
}
