//! Commands: what someone asks of a case. The machine decides whether to accept each one
//! and which events follow (`machine::decide`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::case::{Missing, SpecialStep};
use crate::ids::{Actor, TaskRef};

/// A material as supplied: a file the back office can fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialRef {
    /// File name.
    pub name: String,
    /// SHA-256 of the content, hex.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// Where the back office fetches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// An application (一表申请 + 一套材料).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Submission {
    /// Region code (区划代码) where the case is handled; empty = the deployment's root.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// The form.
    #[serde(default)]
    pub form: serde_json::Map<String, serde_json::Value>,
    /// Materials supplied, by material id.
    #[serde(default)]
    pub materials: BTreeMap<String, MaterialRef>,
    /// Shared (data-sharing) materials that could not be fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<String>,
    /// Tasks the applicant takes by 告知承诺 (where the bundle allows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commitments: Vec<String>,
    /// The channel that took the application, and which window or portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// The SHA-256 (hex) of the case number and the applicant's progress-query code
    /// (`<case_no>:<code>`), never the code itself; `None`: no code was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_code: Option<String>,
}

/// Where an application or a supplement came in (线上线下统一: the same case continues on
/// any channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Via {
    /// `window` (综合窗口), `portal` (网上办事大厅), `app`, `kiosk` (自助终端), or an
    /// integrator's own name.
    pub channel: String,
    /// The window, terminal or portal that took it (e.g. the token's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_by: Option<String>,
}

/// A command with its actor.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Who asks.
    pub actor: Actor,
    /// What is asked.
    pub action: Action,
    /// The fencing token of the lease the caller holds on the unit (back offices polling a
    /// queue); a command naming an older lease is refused. `None`: no lease named
    /// (in-process adapters, operators).
    pub lease: Option<u64>,
    /// The dispatch attempt the answer is about (adapters that push work); an answer to an
    /// older attempt of a unit that was dispatched again is refused.
    pub attempt: Option<u32>,
    /// The region subtree (区划代码 prefix) the caller may act in; a department's command
    /// on a unit handled outside it (a unit reassigned to another region, 改派) is
    /// refused. `None`: not limited (in-process callers, the whole deployment).
    pub scope: Option<std::sync::Arc<str>>,
    /// The bundle version the caller read the task names in: refused
    /// ([`crate::Rejection::VersionChanged`]) when the case was migrated meanwhile, since
    /// task indices differ between versions. `None`: not checked.
    pub version: Option<u32>,
}

impl Command {
    /// A command by `actor`.
    pub fn new(actor: Actor, action: Action) -> Command {
        Command {
            actor,
            action,
            lease: None,
            attempt: None,
            scope: None,
            version: None,
        }
    }

    /// The same command, its task names read in version `version` of the case's bundle.
    #[must_use]
    pub fn on_version(mut self, version: u32) -> Command {
        self.version = Some(version);
        self
    }

    /// The same command from a caller limited to the region subtree `prefix`.
    #[must_use]
    pub fn within(mut self, prefix: Option<std::sync::Arc<str>>) -> Command {
        self.scope = prefix.filter(|p| !p.is_empty());
        self
    }
}

impl Command {
    /// The same command about dispatch attempt `attempt`.
    #[must_use]
    pub fn for_attempt(mut self, attempt: u32) -> Command {
        self.attempt = Some(attempt);
        self
    }

    /// The same command under lease `token`.
    #[must_use]
    pub fn with_lease(mut self, token: u64) -> Command {
        self.lease = Some(token);
        self
    }

    /// The same command from a caller that holds no lease and must not overrule one: a
    /// back office answering a unit pushed to it (a webhook), which was never leased. It is
    /// refused as stale while another worker's lease is live; an acceptance under it makes
    /// a claim with token 0 that later calls name (or again leave out).
    ///
    /// A command with neither (`lease: None`) is not fenced at all: in-process adapters
    /// answering through their `Replier`.
    #[must_use]
    pub fn without_lease(mut self) -> Command {
        self.lease = Some(crate::machine::NO_LEASE);
        self
    }
}

/// What is asked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Accept an application and start the case.
    Submit(Submission),
    /// The department approves, with the declared output.
    Approve {
        /// The task or instance.
        task: TaskRef,
        /// The output.
        output: serde_json::Value,
    },
    /// The department refuses (不予许可).
    Refuse {
        /// The task or instance.
        task: TaskRef,
        /// Why (written reasons are required).
        reason: String,
    },
    /// The department asks for missing materials or fields (补正).
    RequestSupplement {
        /// The task or instance.
        task: TaskRef,
        /// What is missing.
        missing: Vec<Missing>,
    },
    /// The applicant supplies what was asked (or a deferred material).
    Supply {
        /// Form fields given or corrected.
        form: serde_json::Map<String, serde_json::Value>,
        /// Materials given.
        materials: BTreeMap<String, MaterialRef>,
        /// Where it was handed in.
        via: Option<Via>,
    },
    /// The applicant withdraws the whole case (`tasks: None`) or some tasks.
    Withdraw {
        /// Tasks to withdraw; `None` withdraws the case.
        tasks: Option<Vec<TaskRef>>,
        /// Why.
        reason: String,
    },
    /// An operator cancels a task stuck in an incident, or a waiting retry.
    Cancel {
        /// The task or instance.
        task: TaskRef,
        /// Why.
        reason: String,
    },
    /// A technical failure reaching or running the back office.
    Fail {
        /// The task or instance.
        task: TaskRef,
        /// What went wrong.
        error: String,
        /// Ask for a retry after this long instead of the task's backoff.
        retry_in: Option<std::time::Duration>,
        /// Retries left as the worker counts them (Camunda's `retries`), replacing the
        /// task's retry policy for this failure: `Some(0)` raises an incident at once, more
        /// retries after `retry_in` (or the backoff). `None`: the task's policy decides.
        retries: Option<u32>,
    },
    /// Hand a task to its department again (a retry is due, or an operator retries an incident).
    Dispatch {
        /// The task or instance.
        task: TaskRef,
    },
    /// A data event proposes a case (免申即享); it starts once the person confirms.
    Propose {
        /// The pre-filled application.
        submission: Submission,
        /// The data-sharing system.
        source: String,
        /// Its event id (a proposal is idempotent on source + event id).
        event_id: String,
    },
    /// The person confirms a proposed case (意愿确认): it is accepted and its clock starts.
    Confirm,
    /// The department enters a special step (特殊环节); the task's clock pauses.
    Suspend {
        /// The task or instance.
        task: TaskRef,
        /// Which step.
        step: SpecialStep,
        /// What it is about.
        note: String,
        /// When the department expects to resume.
        expected: Option<jiff::Timestamp>,
    },
    /// The special step is over; the clock runs again.
    Resume {
        /// The task or instance.
        task: TaskRef,
    },
    /// The applicant rates the closed case (好差评).
    Evaluate {
        /// 1 非常不满意 … 5 非常满意.
        grade: u8,
        /// The department rated.
        department: Option<String>,
        /// The applicant's words.
        comment: String,
    },
    /// Time has passed: fire whatever is due (warnings, retries, deadlines, lease expiry).
    Tick,
    /// A back office takes a dispatched unit from its queue until `until` (fetch-and-lock).
    Lease {
        /// The unit.
        task: TaskRef,
        /// The worker's name.
        worker: String,
        /// When the lease expires unless extended.
        until: jiff::Timestamp,
    },
    /// Extends the lease the command names (`Command::lease`).
    Heartbeat {
        /// The unit.
        task: TaskRef,
        /// The new expiry.
        until: jiff::Timestamp,
    },
    /// 退回: the department of `by` returns the result of `task`, an upstream task, to be
    /// redone: `task` goes back to its department with the reason and its previous output,
    /// its open dependants wait again, results that did not depend on it stand.
    SendBack {
        /// The upstream task whose result is returned.
        task: TaskRef,
        /// The task of the department that returns it (dispatched, downstream of `task`).
        by: TaskRef,
        /// Why (required).
        reason: String,
    },
    /// Moves the case to another version of its bundle (an operator's migration): the
    /// old version's tasks map to the new one's by `mapping` (old id → new id), else by
    /// the same id; see [`crate::migrate::plan`] for what fits.
    Migrate {
        /// The new version.
        to: crate::event::Pinned,
        /// Renamed tasks: old id → new id.
        mapping: BTreeMap<String, String>,
        /// Why (required).
        reason: String,
    },
    /// 加办: the applicant adds an optional item (a task whose `when` was false) to the
    /// running case, with the form changes that make its `when` true and its materials.
    AddItem {
        /// The task.
        task: TaskRef,
        /// Form fields changed (e.g. the opt-in field).
        form: serde_json::Map<String, serde_json::Value>,
        /// The item's materials.
        materials: BTreeMap<String, MaterialRef>,
        /// Where it was asked for.
        via: Option<Via>,
    },
    /// The reverse of 加办: an optional item not yet dispatched is dropped (skipped).
    RemoveItem {
        /// The task.
        task: TaskRef,
        /// Why (required).
        reason: String,
    },
    /// 改派: an operator moves a unit to the department of the same kind in another region
    /// (属地 misrouting); its clock runs on.
    Reassign {
        /// The unit.
        task: TaskRef,
        /// The region code (区划代码) whose department takes it.
        region: String,
        /// Why (required).
        reason: String,
    },
    /// The department formally accepts the item (受理): the lease becomes a claim that no
    /// longer expires; the unit's deadline still runs.
    Accept {
        /// The unit.
        task: TaskRef,
        /// The department's own receipt number.
        receipt_no: Option<String>,
    },
}
