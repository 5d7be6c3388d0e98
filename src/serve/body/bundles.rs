//! Bundle bodies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yijian_definitions::{Blueprint, Diagnostic};

/// A finding of the check, located in the YAML text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DiagnosticBody {
    /// Stable code, e.g. `YJ102` (documented in docs/errors/).
    pub code: String,
    /// Its short name, e.g. `unknown-key`.
    pub name: String,
    /// `error` or `warning`.
    pub severity: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl From<&Diagnostic> for DiagnosticBody {
    fn from(d: &Diagnostic) -> DiagnosticBody {
        DiagnosticBody {
            code: d.code.as_str().to_owned(),
            name: d.code.name().to_owned(),
            severity: d.severity.to_string(),
            line: d.pos.line,
            column: d.pos.column,
            message: d.message.clone(),
            hint: d.hint.clone(),
        }
    }
}

/// The answer to a deploy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeployResponse {
    /// Bundle id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// Warnings of the check (a deploy with errors is refused).
    pub warnings: Vec<DiagnosticBody>,
}

/// A bundle in the list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BundleRow {
    /// Bundle id.
    pub id: String,
    /// Title of the latest version.
    pub title: String,
    /// The latest version.
    pub latest: u32,
    /// Every deployed version, ascending.
    pub versions: Vec<u32>,
}

/// One task of a bundle.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BundleTaskBody {
    /// Task id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Department id.
    pub department: String,
    /// 事项编码.
    pub item: Option<String>,
    /// Tasks that settle first.
    pub after: Vec<String>,
    /// Whether it only runs under a condition (`when`).
    pub conditional: bool,
    /// Whether it runs once per list element (`for_each`).
    pub fan_out: bool,
    /// Declared outputs: name → type.
    #[schema(value_type = Object)]
    pub output: serde_json::Map<String, serde_json::Value>,
}

/// One deployed bundle version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BundleBody {
    /// Bundle id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// Title.
    pub title: String,
    /// Working-day calendar id.
    pub calendar: String,
    /// Promised limit (承诺时限), e.g. `5wd`.
    pub time_limit: Option<String>,
    /// Statutory limit (法定时限).
    pub statutory_limit: Option<String>,
    /// Whether data events may propose cases (免申即享).
    pub proposed_trigger: bool,
    /// Tasks in file order.
    pub tasks: Vec<BundleTaskBody>,
    /// Departments with a task, sorted.
    pub departments: Vec<String>,
    /// The form's fields (`form:`), in file order: what an intake form asks.
    pub form: Vec<super::FormFieldBody>,
    /// The YAML text as deployed.
    pub yaml: String,
}

impl BundleBody {
    /// The body of a blueprint and its text.
    pub fn of(bp: &Blueprint, yaml: String) -> BundleBody {
        let mut departments: Vec<String> =
            bp.tasks.iter().map(|t| t.department.to_string()).collect();
        departments.sort();
        departments.dedup();
        BundleBody {
            id: bp.id.to_string(),
            version: bp.version,
            title: bp.title.clone(),
            calendar: bp.calendar.clone(),
            time_limit: bp.time_limit.map(|d| d.to_string()),
            statutory_limit: bp.statutory_limit.map(|d| d.to_string()),
            proposed_trigger: bp.proposed_trigger,
            tasks: bp
                .tasks
                .iter()
                .map(|t| BundleTaskBody {
                    id: t.id.clone(),
                    title: t.title.clone(),
                    department: t.department.to_string(),
                    item: t.item.clone(),
                    after: t.upstream.iter().map(|u| bp.spec(*u).id.clone()).collect(),
                    conditional: t.when.is_some(),
                    fan_out: t.is_fan_out(),
                    output: t
                        .output
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
                        .collect(),
                })
                .collect(),
            departments,
            form: bp
                .form
                .iter()
                .map(|(k, rule)| super::FormFieldBody::of(k, &rule.field))
                .collect(),
            yaml,
        }
    }
}
