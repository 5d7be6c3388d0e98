//! Request and response bodies of the API, with their OpenAPI schemas. Requests refuse
//! unknown fields (a typo is a 400, not a silently ignored key); responses may gain fields.

mod bundles;
mod cases;
mod changes;
mod migrations;
mod queues;
mod views;

pub use bundles::{BundleBody, BundleRow, BundleTaskBody, DeployResponse, DiagnosticBody};
pub use cases::{
    CaseBody, CaseList, CaseRow, DeferredBody, EvaluationBody, EventsPage, MaterialBody,
    NoticeBody, NoticeItemBody, ResultBody, SearchQuery, SubmitBody, SupplementBody, TaskBody,
    TriggerBody, WithdrawBody,
};
pub use changes::{AddItemBody, ReassignBody, RemoveItemBody, SendBackBody, SentBackBody};
pub use migrations::{MigrationAnswer, MigrationBody};
pub use queues::{
    AcceptBody, BatchCompletion, BatchResult, CompleteBatchBody, CompleteBatchResponse,
    CompleteBody, DecisionKind, FailBody, FetchBody, FetchResponse, FetchedTask, HeartbeatBody,
    IncidentAction, IncidentBody, IncidentList, MissingBody, ResumeBody, StepBody, SuspendBody,
    TaskAnswer,
};

pub use views::{
    BoardDepartment, BoardResponse, CheckResponse, FormFieldBody, HolderBody, PreviewBody,
    PreviewMaterialBody, PreviewResponse, PreviewTaskBody, ProblemBody, SimulateBody,
    SimulateResponse, WhyResponse,
};

use serde::Serialize;
use utoipa::ToSchema;

/// `/healthz` and `/readyz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthBody {
    /// `ok` or `ready`.
    pub status: String,
}

/// Formats a timestamp as RFC 3339 (the API's only time format).
pub(crate) fn time(t: Option<jiff::Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}
