//! Adapters: how a dispatched task leaves for its department's back office and how the
//! answer comes back.
//!
//! An adapter is registered per department id. When a task is dispatched (after its event
//! is committed), the runtime hands the adapter a [`Work`] item and a [`Replier`]. The
//! adapter either decides at once ([`Dispatch::Decided`], e.g. an in-process rule) — the
//! runtime then applies the decision without another round trip — or takes the work away
//! ([`Dispatch::Pending`]: a queue a back office polls, a webhook) and answers later through
//! the replier or through `Engine::complete`.
//!
//! # Contract
//! - `dispatch` must not block: long work belongs in a spawned task or a queue.
//! - Delivery is at least once: after a crash or a retry the same unit may be dispatched
//!   again with a higher `attempt`. An answer for an older attempt of a unit that has moved
//!   on is refused by the machine, so it is never applied twice.
//! - `cancel` is a courtesy notice (the unit was withdrawn or cancelled); answers after it
//!   are refused.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use crate::case::Missing;
use crate::command::{Action, Command, MaterialRef};
use crate::event::Event;
use crate::ids::{Actor, CaseNo, TaskRef};
use crate::runtime::EngineError;
use yijian_definitions::{Blueprint, TaskSpec};

/// A unit of work for a department. Cheap to build: names and titles are read from the
/// blueprint on demand.
#[derive(Debug, Clone)]
pub struct Work {
    /// The case.
    pub case_no: CaseNo,
    /// The bundle version the case runs on.
    pub blueprint: Arc<Blueprint>,
    /// The department the work goes to.
    pub department: Arc<str>,
    /// The region code (区划代码) whose department handles it: the case's, or the one it
    /// was reassigned to (改派).
    pub region: Arc<str>,
    /// The task (or instance).
    pub task: TaskRef,
    /// Dispatch attempt, from 1.
    pub attempt: u32,
    /// The evaluated input.
    pub input: Arc<serde_json::Value>,
    /// The materials the task receives, with their files where known.
    pub materials: Vec<(String, Option<MaterialRef>)>,
    /// When it was dispatched.
    pub dispatched_at: Timestamp,
    /// When its promised limit ends (the department's deadline).
    pub due: Option<Timestamp>,
    /// Its result was returned by a downstream department (退回) and is to be redone: who,
    /// why, and the output approved before.
    pub sent_back: Option<crate::case::SentBack>,
}

impl Work {
    fn spec(&self) -> Option<&TaskSpec> {
        match self.task.part {
            crate::ids::Part::Rectification => None,
            _ => self.blueprint.tasks.get(self.task.task.index()),
        }
    }

    /// The task's name: `licence`, `partner_check[1]`.
    pub fn name(&self) -> String {
        self.task.name(&self.blueprint)
    }

    /// The id back offices use for this task: `<case_no>:<task name>`.
    pub fn task_id(&self) -> String {
        crate::ids::task_id(self.case_no.as_str(), &self.name())
    }

    /// The task's title (a verification or rectification says so).
    pub fn title(&self) -> String {
        match (self.task.part, self.spec()) {
            (crate::ids::Part::Verification, Some(s)) => format!("{}（告知承诺核查）", s.title),
            (_, Some(s)) => s.title.clone(),
            (_, None) => "好差评整改".to_owned(),
        }
    }

    /// The department id.
    pub fn department(&self) -> &Arc<str> {
        &self.department
    }

    /// What kind of work: the task, a verification, a rectification.
    pub fn part(&self) -> crate::ids::Part {
        self.task.part
    }

    /// The 事项编码, where declared.
    pub fn item(&self) -> Option<&str> {
        self.spec().and_then(|s| s.item.as_deref())
    }

    /// The bundle id.
    pub fn bundle(&self) -> &str {
        &self.blueprint.id
    }

    /// The bundle version.
    pub fn version(&self) -> u32 {
        self.blueprint.version
    }
}

impl Serialize for Work {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(13 + usize::from(self.sent_back.is_some())))?;
        m.serialize_entry("case_no", &self.case_no)?;
        m.serialize_entry("region", &*self.region)?;
        m.serialize_entry("bundle", self.bundle())?;
        m.serialize_entry("version", &self.version())?;
        m.serialize_entry("task", &self.name())?;
        m.serialize_entry("title", &self.title())?;
        m.serialize_entry("part", &self.task.part)?;
        m.serialize_entry("department", &**self.department())?;
        m.serialize_entry("item", &self.item())?;
        m.serialize_entry("attempt", &self.attempt)?;
        m.serialize_entry("deadline", &self.due)?;
        m.serialize_entry("input", &*self.input)?;
        let materials: serde_json::Map<String, serde_json::Value> = self
            .materials
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
            .collect();
        m.serialize_entry("materials", &materials)?;
        if let Some(b) = &self.sent_back {
            m.serialize_entry(
                "sent_back",
                &serde_json::json!({
                    "by": b.by.name(&self.blueprint),
                    "reason": b.reason,
                    "previous_output": b.previous_output.as_deref(),
                    "at": b.at,
                }),
            )?;
        }
        m.end()
    }
}

/// A department's answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Decision {
    /// Approved with the declared output.
    Approve(serde_json::Value),
    /// Refused, with the reason.
    Refuse(String),
    /// Materials or fields missing (补正).
    Supplement(Vec<Missing>),
    /// A technical failure; the task's retry policy applies.
    Fail {
        /// What went wrong.
        error: String,
        /// Retry after this long instead of the task's backoff.
        retry_in: Option<std::time::Duration>,
    },
}

impl Decision {
    /// The command that carries this decision for `task`.
    pub fn into_action(self, task: TaskRef) -> Action {
        match self {
            Decision::Approve(output) => Action::Approve { task, output },
            Decision::Refuse(reason) => Action::Refuse { task, reason },
            Decision::Supplement(missing) => Action::RequestSupplement { task, missing },
            Decision::Fail { error, retry_in } => Action::Fail {
                task,
                error,
                retry_in,
                retries: None,
            },
        }
    }
}

/// What `dispatch` did with the work.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Dispatch {
    /// Decided at once; the runtime applies the decision.
    Decided(Decision),
    /// Taken away; the answer comes later.
    Pending,
    /// Not this adapter's: the unit waits in the department's built-in queue for its back
    /// office to fetch it, as if the department had no adapter (a router binding some
    /// regions to a webhook and the rest to the queue).
    Queue,
}

/// A boxed future, for object-safe callbacks.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where answers go: the engine, seen through an object-safe trait.
pub trait CommandSink: Send + Sync + 'static {
    /// Executes a command on a case.
    fn execute(
        &self,
        case_no: CaseNo,
        command: Command,
    ) -> BoxFuture<'static, Result<Vec<Event>, EngineError>>;
}

/// Answers one unit of work later.
#[derive(Clone)]
pub struct Replier {
    sink: Arc<dyn CommandSink>,
    case_no: CaseNo,
    task: TaskRef,
    department: Arc<str>,
    attempt: u32,
}

impl fmt::Debug for Replier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replier")
            .field("case_no", &self.case_no)
            .field("task", &self.task)
            .finish()
    }
}

impl Replier {
    pub(crate) fn new(
        sink: Arc<dyn CommandSink>,
        case_no: CaseNo,
        task: TaskRef,
        department: Arc<str>,
        attempt: u32,
    ) -> Replier {
        Replier {
            sink,
            case_no,
            task,
            department,
            attempt,
        }
    }

    /// Sends the department's decision.
    ///
    /// # Errors
    /// The engine's answer: a rejection (e.g. the unit was cancelled meanwhile) or a store error.
    pub async fn answer(&self, decision: Decision) -> Result<Vec<Event>, EngineError> {
        let command = Command::new(
            Actor::Department(self.department.clone()),
            decision.into_action(self.task),
        )
        .for_attempt(self.attempt);
        self.sink.execute(self.case_no.clone(), command).await
    }
}

/// Hands work to a department's back office.
pub trait Adapter: Send + Sync + fmt::Debug + 'static {
    /// Hands a dispatched unit over. See the module's contract.
    fn dispatch(&self, work: &Work, reply: &Replier) -> Dispatch;

    /// The unit was withdrawn or cancelled.
    fn cancel(&self, work: &WorkCancelled) {
        let _ = work;
    }

    /// Whether this adapter leaves the units of a case in `region` to the built-in queue
    /// (it answers them with [`Dispatch::Queue`]): such units are fetched by workers, the
    /// others are this adapter's alone and are not fetchable. Default: none.
    fn queues(&self, region: &str) -> bool {
        let _ = region;
        false
    }
}

/// A cancellation notice.
#[derive(Debug, Clone, Serialize)]
pub struct WorkCancelled {
    /// The case.
    pub case_no: CaseNo,
    /// The unit.
    pub task: TaskRef,
    /// Its name.
    pub name: String,
    /// The department id.
    pub department: Arc<str>,
    /// The case's 区划代码.
    pub region: Arc<str>,
    /// Why.
    pub reason: Option<String>,
}
