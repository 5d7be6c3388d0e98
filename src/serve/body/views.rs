//! Bodies of the views the console is built on (any integrator may call them too): a form
//! description, an application's preview, why a case waits, a bundle checked without
//! deploying it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use yijian_definitions::model::{FieldType, FormField, Required};

use super::{BundleBody, DiagnosticBody, MaterialBody, time};

/// One field of a bundle's `form:` (a list's `items`, an object's `fields` nested).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FormFieldBody {
    /// Key in the form.
    pub key: String,
    /// `string`, `number`, `integer`, `boolean`, `date`, `list`, `object`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Label.
    pub title: Option<String>,
    /// `true`, `false`, or the condition (CEL) under which it is required.
    pub required: Value,
    /// Value when not given (any JSON value).
    pub default: Option<Value>,
    /// Lowest number, or shortest text or list.
    pub min: Option<f64>,
    /// Highest number, or longest text or list.
    pub max: Option<f64>,
    /// Regular expression a text must match.
    pub pattern: Option<String>,
    /// Allowed values (an enumeration of JSON values).
    pub allowed: Option<Vec<Value>>,
    /// Sub-fields: of each list element, or of the object.
    #[schema(no_recursion)]
    pub fields: Vec<FormFieldBody>,
}

impl FormFieldBody {
    /// The body of one declared field.
    pub fn of(key: &str, f: &FormField) -> FormFieldBody {
        let ty = match f.ty {
            FieldType::String => "string",
            FieldType::Number => "number",
            FieldType::Integer => "integer",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::List => "list",
            _ => "object",
        };
        FormFieldBody {
            key: key.to_owned(),
            ty: ty.to_owned(),
            title: f.title.clone(),
            required: match &f.required {
                Required::No => Value::Bool(false),
                Required::Yes => Value::Bool(true),
                Required::When(e) => Value::String(e.text.clone()),
            },
            default: f.default.clone(),
            min: f.min,
            max: f.max,
            pattern: f.pattern.clone(),
            allowed: f.allowed.clone(),
            fields: f
                .fields
                .iter()
                .map(|(k, sub)| FormFieldBody::of(k, sub))
                .collect(),
        }
    }
}

/// `POST /v1/bundles/{id}/preview`: an application as filled so far.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// Bundle version (default: the latest).
    #[serde(default)]
    pub version: Option<u32>,
    /// 区划代码 (default: the token's scope).
    #[serde(default)]
    pub region: Option<String>,
    /// The form so far.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub form: Map<String, Value>,
    /// Materials attached so far.
    #[serde(default)]
    pub materials: BTreeMap<String, MaterialBody>,
    /// Tasks the applicant takes by 告知承诺.
    #[serde(default)]
    pub commitments: Vec<String>,
    /// Shared materials the data-sharing platform could not deliver.
    #[serde(default)]
    pub unavailable: Vec<String>,
}

/// One problem of an application.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemBody {
    /// Where: `form.shop_name`, `materials.lease`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// One item of a preview.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewTaskBody {
    /// Task id.
    pub name: String,
    /// Title.
    pub title: String,
    /// Department.
    pub department: String,
    /// `true` applies, `false` its 情形 is not met, `null` not decidable yet.
    pub applies: Option<bool>,
    /// Its `when`, as written.
    pub when: Option<String>,
}

/// One material of a preview's checklist.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewMaterialBody {
    /// Material id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Needed for this application.
    pub needed: bool,
    /// `applicant`, `shared` (fetched by data sharing / e-licence), `task`.
    pub source: String,
    /// 容缺: how long it may follow acceptance, when it may.
    pub deferrable: Option<String>,
    /// Attached.
    pub supplied: bool,
}

/// What the application would become if submitted now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewResponse {
    /// What keeps it from being accepted (empty: it would be accepted).
    pub problems: Vec<ProblemBody>,
    /// Why the bundle is not offered for it, if so.
    pub not_offered: Option<String>,
    /// Each item and whether it applies.
    pub tasks: Vec<PreviewTaskBody>,
    /// The merged materials checklist.
    pub materials: Vec<PreviewMaterialBody>,
    /// The promised limit's end, if accepted now.
    pub due: Option<String>,
    /// The statutory limit's end, if accepted now.
    pub statutory_due: Option<String>,
}

impl From<yijian_engine::preview::Preview> for PreviewResponse {
    fn from(p: yijian_engine::preview::Preview) -> Self {
        PreviewResponse {
            problems: p
                .problems
                .into_iter()
                .map(|p| ProblemBody {
                    path: p.path,
                    message: p.message,
                })
                .collect(),
            not_offered: p.not_offered,
            tasks: p
                .tasks
                .into_iter()
                .map(|t| PreviewTaskBody {
                    name: t.name,
                    title: t.title,
                    department: t.department,
                    applies: t.applies,
                    when: t.when,
                })
                .collect(),
            materials: p
                .materials
                .into_iter()
                .map(|m| PreviewMaterialBody {
                    id: m.id,
                    title: m.title,
                    needed: m.needed,
                    source: m.source.to_owned(),
                    deferrable: m.deferrable,
                    supplied: m.supplied,
                })
                .collect(),
            due: time(p.due),
            statutory_due: time(p.statutory_due),
        }
    }
}

/// One unit holding a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HolderBody {
    /// The unit (`licence`, `inspect[2]`).
    pub name: String,
    /// The item's title.
    pub title: String,
    /// Its department.
    pub department: String,
    /// The department's name for people (the bundle's `guide.departments`, else its id).
    pub department_name: String,
    /// Its state (`dispatched`, `supplement_requested`, `suspended`, …).
    pub status: String,
    /// Since when it holds the case.
    pub since: Option<String>,
    /// Its limit's end.
    pub due: Option<String>,
    /// Working days from today to `due` (0: today; negative: overdue).
    pub working_days_left: Option<i64>,
    /// `green`, `yellow`, `red`.
    pub warning: String,
}

/// Why a case waits now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WhyResponse {
    /// Case number.
    pub case_no: String,
    /// Its status.
    pub status: String,
    /// The applicant holds it (补正 asked).
    pub waiting_for_applicant: bool,
    /// The applicant's deadline.
    pub respond_by: Option<String>,
    /// The units it waits on.
    pub holding: Vec<HolderBody>,
    /// The items of the longest remaining chain, in order.
    pub critical_path: Vec<String>,
    /// When the case ends if each item on that chain uses its whole limit (on the calendar).
    pub completion_by_limits: Option<String>,
    /// The bundle's promised limit.
    pub due: Option<String>,
    /// Working days from today to `due`.
    pub working_days_left: Option<i64>,
    /// The case's warning colour.
    pub warning: String,
}

impl WhyResponse {
    /// The body of a case's why.
    pub fn of(case_no: &str, w: yijian_engine::why::Why) -> WhyResponse {
        WhyResponse {
            case_no: case_no.to_owned(),
            status: w.status,
            waiting_for_applicant: w.waiting_for_applicant,
            respond_by: time(w.respond_by),
            holding: w
                .holding
                .into_iter()
                .map(|h| HolderBody {
                    name: h.name,
                    title: h.title,
                    department: h.department,
                    department_name: h.department_name,
                    status: h.status.as_str().to_owned(),
                    since: time(h.since),
                    due: time(h.due),
                    working_days_left: h.working_days_left,
                    warning: h.warning.as_str().to_owned(),
                })
                .collect(),
            critical_path: w.critical_path,
            completion_by_limits: time(w.completion_by_limits),
            due: time(w.due),
            working_days_left: w.working_days_left,
            warning: w.warning.as_str().to_owned(),
        }
    }
}

/// A bundle checked without deploying it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckResponse {
    /// No errors (warnings may remain).
    pub ok: bool,
    /// Every error and warning with its code, line and column.
    pub diagnostics: Vec<DiagnosticBody>,
    /// The compiled bundle (for its graph), when it has no errors.
    pub bundle: Option<BundleBody>,
}

/// One department's warned units on the board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardDepartment {
    /// Department id.
    pub department: String,
    /// Unsettled units at yellow.
    pub yellow: u64,
    /// Unsettled units at red.
    pub red: u64,
}

/// The supervisor's board (电子监察) of a region subtree.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardResponse {
    /// The region prefix counted (`""`: everything).
    pub region: String,
    /// Open cases at yellow.
    pub yellow_cases: u64,
    /// Open cases at red.
    pub red_cases: u64,
    /// Unsettled warned units by department (departments without any are left out).
    pub departments: Vec<BoardDepartment>,
}

/// `POST /v1/bundles/simulate`: a `simulate` script run on a bundle's text.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateBody {
    /// The bundle's YAML (the script's `bundle:` is not read: this bundle is run).
    pub yaml: String,
    /// The script's YAML (docs/simulate.md), at most 200 steps.
    pub script: String,
}

/// A simulation's result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimulateResponse {
    /// The run finished (else `error` says why, with line and column where it can).
    pub ok: bool,
    /// Why the bundle or the script could not run.
    pub error: Option<String>,
    /// The readable table of `yijian simulate`.
    pub table: Option<String>,
    /// The `--format json` document.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
}
