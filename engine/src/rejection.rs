//! Rejections: a command the machine refuses. A value, not a failure: nothing changes.

use serde::Serialize;

use crate::case::UnitStatus;

/// One problem with submitted data, located by a path such as `form.partners[1].id_no`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where: `form.shop_name`, `materials.lease`, `output.licence_no`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rejection {
    /// The form or materials do not fit the bundle; every problem at once (一次性告知).
    #[error("the application has {} problem(s): {}", problems.len(), list(problems))]
    InvalidSubmission {
        /// Every problem.
        problems: Vec<Problem>,
    },
    /// The bundle's `offered_when` is false for this form.
    #[error("this bundle is not offered for this application: {reason}")]
    NotOffered {
        /// The condition that failed, for the applicant to be routed to single items.
        reason: String,
    },
    /// The case already exists (submit twice).
    #[error("the case has already been submitted")]
    AlreadySubmitted,
    /// The case is closed.
    #[error("the case is closed")]
    CaseClosed,
    /// The case has not been submitted.
    #[error("the case does not exist")]
    NoCase,
    /// No such task in the bundle (or no such instance).
    #[error("no task `{task}` in this case")]
    UnknownTask {
        /// The name given.
        task: String,
    },
    /// The task is not in a state that allows this command.
    #[error("task `{task}` is {status}; it cannot be {action}")]
    TaskNotOpen {
        /// The task.
        task: String,
        /// Its status.
        status: UnitStatus,
        /// What was attempted.
        action: &'static str,
    },
    /// A department acting on another department's task.
    #[error("task `{task}` belongs to department `{department}`")]
    WrongDepartment {
        /// The task.
        task: String,
        /// Its department.
        department: String,
    },
    /// A `for_each` task is decided per instance.
    #[error("task `{task}` runs once per element; name an instance such as `{task}[0]`")]
    InstanceRequired {
        /// The task.
        task: String,
    },
    /// The output does not match the task's `output` declaration.
    #[error(
        "the output of `{task}` does not match its declaration: {}",
        list(problems)
    )]
    InvalidOutput {
        /// The task.
        task: String,
        /// Every problem.
        problems: Vec<Problem>,
    },
    /// A refusal, withdrawal or cancellation needs a reason.
    #[error("a reason is required")]
    ReasonRequired,
    /// A supplement request must say what is missing.
    #[error("a supplement request must list what is missing")]
    NothingMissing,
    /// Nothing to supply: no open supplement request and no deferred material.
    #[error("nothing is waiting for the applicant to supply")]
    NothingToSupply,
    /// The bundle takes no proactive (免申即享) proposals (`trigger.proposed` is not set).
    #[error("this bundle does not take proposed cases (its trigger.proposed is not set)")]
    NotProactive,
    /// Only a proposed case can be confirmed.
    #[error("the case is not a proposal waiting for confirmation")]
    NotProposed,
    /// A proposed case must be confirmed first.
    #[error("the case is proposed and not confirmed yet")]
    NotConfirmed,
    /// Evaluations (好差评) are for closed cases.
    #[error("the case is not closed yet; evaluate it when it is")]
    NotClosed,
    /// Grades are 1 (非常不满意) to 5 (非常满意).
    #[error("grade {grade} is not from 1 (非常不满意) to 5 (非常满意)")]
    InvalidGrade {
        /// The grade given.
        grade: u8,
    },
    /// A department that has no task in this bundle.
    #[error("department `{department}` has no task in this bundle")]
    UnknownDepartment {
        /// The department given.
        department: String,
    },
    /// The task uses a material accepted as missing (容缺) that has not arrived yet.
    #[error(
        "task `{task}` cannot be approved before the deferred material `{material}` is supplied"
    )]
    MaterialDeferred {
        /// The task.
        task: String,
        /// The missing material.
        material: String,
    },
    /// The unit cannot take that command in its state (e.g. suspending a waiting task).
    #[error("task `{task}` is {status}; it cannot be {action}")]
    WrongStep {
        /// The task.
        task: String,
        /// Its status.
        status: UnitStatus,
        /// What was attempted.
        action: &'static str,
    },
    /// The command names a lease that is not the unit's current one (expired, replaced, or
    /// never issued): another worker may hold the unit now.
    #[error("task `{task}`: lease token {given} is not current{}", current.map(|c| format!(" (current: {c})")).unwrap_or_default())]
    StaleLease {
        /// The task.
        task: String,
        /// The token given.
        given: u64,
        /// The current token, if the unit is leased.
        current: Option<u64>,
    },
    /// An answer about an older dispatch of the unit.
    #[error("task `{task}`: the answer is about attempt {given}, the task is at attempt {current}")]
    StaleAttempt {
        /// The task.
        task: String,
        /// The attempt answered.
        given: u32,
        /// The unit's current attempt.
        current: u32,
    },
    /// The unit is leased to another worker.
    #[error("task `{task}` is leased until {until}")]
    Leased {
        /// The task.
        task: String,
        /// Until when (absent: claimed by the department).
        until: String,
    },
    /// 退回 of a task that is not upstream of the returning department's task.
    #[error(
        "task `{task}` is not upstream of `{by}`: a department can only send back a result its task depends on"
    )]
    NotUpstream {
        /// The task named to be redone.
        task: String,
        /// The returning department's task.
        by: String,
    },
    /// 退回 is not possible for this task: the bundle forbids it (`send_back: false`), or the
    /// task was decided by a rule or on the applicant's commitment.
    #[error("the result of task `{task}` cannot be sent back: {why}")]
    SendBackNotAllowed {
        /// The task.
        task: String,
        /// Why not.
        why: String,
    },
    /// The task's result was already sent back as often as the bundle allows.
    #[error(
        "the result of task `{task}` was sent back {max} time(s) already, the most its `send_back.max` allows"
    )]
    SendBackLimit {
        /// The task.
        task: String,
        /// The limit.
        max: u32,
    },
    /// A dependant of the returned task is with the applicant or in a special step; it
    /// cannot wait again until that is over.
    #[error(
        "task `{task}` depends on the returned result and is {status}; send back once it is over"
    )]
    DependantBusy {
        /// The dependant.
        task: String,
        /// Its status.
        status: UnitStatus,
    },
    /// 加办 of a task whose `when` stays false with the form as changed.
    #[error(
        "task `{task}` does not apply with this form (`when: {when}` is false); change the form field it depends on"
    )]
    ItemNotApplicable {
        /// The task.
        task: String,
        /// Its condition.
        when: String,
    },
    /// 加办 or its reverse is too late: a task after it has already started.
    #[error(
        "task `{task}` cannot be added or removed: `{dependant}`, which comes after it, is already {status}"
    )]
    ItemTooLate {
        /// The task.
        task: String,
        /// The dependant that started.
        dependant: String,
        /// Its status.
        status: UnitStatus,
    },
    /// 改派 within the same region, or to an empty one.
    #[error("task `{task}` is already handled in region `{region}`; name another region code")]
    SameRegion {
        /// The task.
        task: String,
        /// The region.
        region: String,
    },
    /// The unit is handled outside the caller's region (it was reassigned, 改派).
    #[error("task `{task}` is handled in region `{region}`, outside this caller's scope")]
    OutsideRegion {
        /// The task.
        task: String,
        /// Where it is handled.
        region: String,
    },
    /// The command named tasks of another version of the bundle than the case runs now
    /// (it was migrated meanwhile): read the case again and send it again.
    #[error(
        "the case runs version {found} of its bundle now, not {expected}; read it again and send the command again"
    )]
    VersionChanged {
        /// The version the command was written for.
        expected: u32,
        /// The version the case runs.
        found: u32,
    },
    /// A migration's task mapping names tasks the versions do not have.
    #[error("the task mapping does not fit the two versions: {}", problems.join("; "))]
    InvalidMapping {
        /// Every problem.
        problems: Vec<String>,
    },
    /// The case cannot move to the other version of its bundle (migration).
    #[error("the case cannot be migrated: {}", reasons.join("; "))]
    NotMigratable {
        /// Every reason.
        reasons: Vec<String>,
    },
    /// Supplied data does not fit the bundle.
    #[error("the supplied data has {} problem(s): {}", problems.len(), list(problems))]
    InvalidSupply {
        /// Every problem.
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `Result` with a [`Rejection`].
pub type Result<T, E = Rejection> = std::result::Result<T, E>;
