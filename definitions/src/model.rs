//! The bundle as a designer wrote it, every part with its place in the file.
//!
//! This is what the reader produces and the checks inspect; the engine runs the compiled
//! [`Blueprint`](crate::Blueprint) instead.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Pos;
use crate::duration::Duration;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Its place in the file.
    pub pos: Pos,
}

/// An expression as written, before compiling.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprSource {
    /// The CEL text.
    pub text: String,
    /// Where the text starts in the file.
    pub pos: Pos,
    /// Whether byte offsets inside `text` map one to one onto the file (false for block
    /// scalars and escaped strings, where findings point at the start instead).
    pub exact: bool,
}

/// Names that were declared but could not be read (a bad id, a bad type, a list where a
/// map belongs). The mistake is reported where it is; references to these names are not
/// reported a second time as unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Broken {
    /// Form fields.
    pub form: std::collections::HashSet<String>,
    /// Materials.
    pub materials: std::collections::HashSet<String>,
    /// Tasks.
    pub tasks: std::collections::HashSet<String>,
    /// Output fields as (task, field); field `*` when the whole `output` could not be read.
    pub outputs: std::collections::HashSet<(String, String)>,
}

impl Broken {
    /// Was output `field` of `task` declared with a mistake?
    pub fn output(&self, task: &str, field: &str) -> bool {
        self.outputs.contains(&(task.to_owned(), field.to_owned()))
            || self.outputs.contains(&(task.to_owned(), "*".to_owned()))
    }
}

/// A bundle ("一件事") definition.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleDef {
    /// `[a-z0-9-]+`, unique in a deployment.
    pub id: Located<String>,
    /// id+version is immutable once deployed.
    pub version: Located<u32>,
    /// The name shown to applicants.
    pub title: String,
    /// A longer description.
    pub description: Option<String>,
    /// Working-day calendar id (default `cn`).
    pub calendar: Located<String>,
    /// Promised limit of the whole bundle (承诺时限).
    pub time_limit: Option<Located<Duration>>,
    /// Whether `time_limit` was written at all (even if it did not parse), so a malformed
    /// limit is reported once, not again as "no time limit" on every task.
    pub time_limit_written: bool,
    /// Legal limit of the whole bundle (法定时限).
    pub statutory_limit: Option<Located<Duration>>,
    /// The one form (一表申请).
    pub form: IndexMap<String, FormField>,
    /// The one set of materials (一套材料).
    pub materials: IndexMap<String, MaterialDef>,
    /// Department tasks, in file order.
    pub tasks: IndexMap<String, TaskDef>,
    /// How results merge (统一出件).
    pub result: ResultDef,
    /// Supplement (补正) rules.
    pub supplement: SupplementDef,
    /// Evaluation (好差评) rules.
    pub evaluation: EvaluationDef,
    /// When false for a form, the bundle is refused at intake.
    pub offered_when: Option<ExprSource>,
    /// Proactive (免申即享) settings.
    pub trigger: TriggerDef,
    /// 办事指南 facts.
    pub guide: GuideDef,
    /// Names declared with a mistake.
    pub broken: Broken,
}

/// The type of a form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FieldType {
    /// Text.
    String,
    /// Any number.
    Number,
    /// A whole number.
    Integer,
    /// true or false.
    Boolean,
    /// A date `YYYY-MM-DD`.
    Date,
    /// A list of records with `items` fields.
    List,
    /// A record with `fields`.
    Object,
}

impl FieldType {
    /// All names, as written in YAML.
    pub const NAMES: &'static [&'static str] = &[
        "string", "number", "integer", "boolean", "date", "list", "object",
    ];
}

/// Whether something is required.
#[derive(Debug, Clone, PartialEq)]
pub enum Required {
    /// Never required.
    No,
    /// Always required.
    Yes,
    /// Required when the expression holds.
    When(ExprSource),
}

/// A field of the form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    /// Where the field's key was written.
    pub pos: Pos,
    /// Its type.
    pub ty: FieldType,
    /// Whether it must be filled.
    pub required: Required,
    /// Value when not given.
    pub default: Option<serde_json::Value>,
    /// Label.
    pub title: Option<String>,
    /// Lowest number, or shortest list/text.
    pub min: Option<f64>,
    /// Highest number, or longest list/text.
    pub max: Option<f64>,
    /// Regular expression text must match.
    pub pattern: Option<String>,
    /// Allowed values.
    pub allowed: Option<Vec<serde_json::Value>>,
    /// Sub-fields of each list element (`items`) or of an object (`fields`).
    pub fields: IndexMap<String, FormField>,
}

/// Where a material comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum MaterialSource {
    /// Uploaded by the applicant (default).
    Applicant,
    /// Fetched by data sharing; never asked of the applicant.
    Shared,
    /// An electronic licence produced by a task (the task's output field of the same name).
    Task(Located<String>),
}

/// A material of the one set.
#[derive(Debug, Clone, PartialEq)]
pub struct MaterialDef {
    /// Where its key was written.
    pub pos: Pos,
    /// Label.
    pub title: Option<String>,
    /// Whether the applicant must supply it.
    pub required: Required,
    /// 容缺: may arrive this long after acceptance.
    pub deferrable: Option<Located<Duration>>,
    /// Where it comes from.
    pub source: MaterialSource,
    /// 办事指南 facts (`form`, `copies`, `sample`, `note`).
    pub guide: MaterialGuide,
}

/// How a task is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Mode {
    /// The department decides (default).
    Decide,
    /// 告知承诺: granted at once on commitment, verified afterwards.
    Commitment,
    /// Decided by `rule`, no person involved.
    Auto,
}

/// The type of a declared output field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OutputType {
    /// Text.
    String,
    /// Any number.
    Number,
    /// A whole number.
    Integer,
    /// true or false.
    Boolean,
    /// A date `YYYY-MM-DD`.
    Date,
    /// An electronic licence `{name, uri, sha256}`.
    Licence,
    /// A list.
    List,
    /// A map.
    Object,
}

impl OutputType {
    /// All names, as written in YAML.
    pub const NAMES: &'static [&'static str] = &[
        "string", "number", "integer", "boolean", "date", "licence", "list", "object",
    ];
}

/// When the yellow warning fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warn {
    /// This long before the due time.
    Before(Duration),
    /// When this percentage of the limit has passed.
    Percent(u8),
}

/// Whether a downstream department may send the task's result back (退回), and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendBackDef {
    /// `send_back: false` forbids it.
    pub allowed: bool,
    /// At most this many send-backs of the task in one case; `None`: no bound.
    pub max: Option<u32>,
}

impl Default for SendBackDef {
    fn default() -> Self {
        SendBackDef {
            allowed: true,
            max: None,
        }
    }
}

/// Retry policy for technical failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryDef {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// First backoff.
    pub backoff_min: Duration,
    /// Largest backoff.
    pub backoff_max: Duration,
}

impl Default for RetryDef {
    fn default() -> Self {
        RetryDef {
            attempts: 3,
            backoff_min: Duration::seconds(1),
            backoff_max: Duration {
                amount: 10,
                unit: crate::duration::DurationUnit::Minutes,
            },
        }
    }
}

/// A department task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDef {
    /// Where its key was written.
    pub pos: Pos,
    /// Label.
    pub title: String,
    /// The department id, bound to a back office per deployment.
    pub department: Located<String>,
    /// 事项编码 of the underlying service item.
    pub item: Option<String>,
    /// Tasks that must be settled first.
    pub after: Vec<Located<String>>,
    /// Skipped when false.
    pub when: Option<ExprSource>,
    /// One instance per element of this list.
    pub for_each: Option<ExprSource>,
    /// Variable name of the element (default `item`).
    pub as_var: Option<Located<String>>,
    /// What the department receives: name → expression.
    pub input: IndexMap<String, ExprSource>,
    /// Materials the department receives.
    pub materials: Vec<Located<String>>,
    /// Fields returned on approval.
    pub output: IndexMap<String, Located<OutputType>>,
    /// Promised limit.
    pub time_limit: Option<Located<Duration>>,
    /// Legal limit.
    pub statutory_limit: Option<Located<Duration>>,
    /// Yellow warning.
    pub warn: Option<Located<Warn>>,
    /// How it is decided.
    pub mode: Located<Mode>,
    /// With `decide`: the applicant may choose 告知承诺 at submission.
    pub commitment_allowed: bool,
    /// With `commitment`: deadline of the verification task.
    pub verify_within: Option<Located<Duration>>,
    /// With `auto`: approved when true.
    pub rule: Option<ExprSource>,
    /// Technical retry policy.
    pub retry: Option<Located<RetryDef>>,
    /// Send-back policy (退回).
    pub send_back: Option<Located<SendBackDef>>,
    /// 办事指南 facts (`legal_basis`, `fee`).
    pub guide: TaskGuide,
}

/// What a refusal does to the rest of the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnReject {
    /// Only downstream tasks are cancelled; finished work stands.
    #[default]
    CancelDependants,
    /// All or nothing: open tasks are cancelled, the bundle is refused.
    RejectBundle,
}

/// What happens when a deferred (容缺) material is not supplied in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnDeferredOverdue {
    /// The tasks that use it are terminated (终止).
    #[default]
    Terminate,
    /// A red warning, and the tasks keep waiting.
    Escalate,
}

/// `result:`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultDef {
    /// Refusal policy.
    pub on_reject: OnReject,
    /// Deferred-material policy.
    pub on_deferred_overdue: OnDeferredOverdue,
    /// Documents the applicant receives: name → expression.
    pub documents: IndexMap<String, ExprSource>,
}

/// Whose clock pauses during a supplement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PauseScope {
    /// Only the asking task's clock.
    #[default]
    Task,
    /// Every open task waits and the bundle's clock pauses too.
    Case,
}

/// `supplement:` (补正).
#[derive(Debug, Clone, PartialEq)]
pub struct SupplementDef {
    /// Applicant's deadline; afterwards the case is abandoned.
    pub respond_within: Duration,
    /// Whose clock pauses.
    pub pause: PauseScope,
}

impl Default for SupplementDef {
    fn default() -> Self {
        SupplementDef {
            respond_within: Duration::working_days(20),
            pause: PauseScope::Task,
        }
    }
}

/// `evaluation:` (好差评).
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationDef {
    /// Working days a department has to answer a bad rating.
    pub rectify_within: Duration,
}

impl Default for EvaluationDef {
    fn default() -> Self {
        EvaluationDef {
            rectify_within: Duration::working_days(5),
        }
    }
}

/// `trigger:` (免申即享).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TriggerDef {
    /// A data event may create a proposed case.
    pub proposed: bool,
}

/// 办事指南 facts of a bundle (`guide:`): everything a published service guide says that
/// the rest of the bundle does not. All optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuideDef {
    /// Who the bundle serves (服务对象), e.g. 企业, 个体工商户, 自然人.
    pub applicants: Vec<String>,
    /// Where one may apply: `window`, `portal`, `app`, `kiosk`, or a name of one's own.
    pub channels: Vec<String>,
    /// The address of the window (办理地点).
    pub where_to_apply: Option<String>,
    /// Opening hours (办理时间).
    pub hours: Option<String>,
    /// Consultation phone (咨询电话).
    pub consult_phone: Option<String>,
    /// Complaint phone (投诉电话).
    pub complaint_phone: Option<String>,
    /// Display names of the departments: id → name (`market: 鼓楼区市场监督管理局`).
    pub departments: IndexMap<String, String>,
    /// Anything else the applicant should know.
    pub notes: Option<String>,
}

/// 办事指南 facts of a task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskGuide {
    /// 设定依据: the laws and rules the item rests on.
    pub legal_basis: Vec<String>,
    /// 收费标准, e.g. `不收费`; `None`: not stated.
    pub fee: Option<String>,
}

/// How a material is handed in (原件/复印件).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MaterialForm {
    /// 原件 (shown, handed back).
    Original,
    /// 复印件.
    Copy,
    /// 原件及复印件.
    OriginalAndCopy,
    /// 电子材料 (an upload).
    Electronic,
}

impl MaterialForm {
    /// The YAML names.
    pub const NAMES: &'static [&'static str] =
        &["original", "copy", "original_and_copy", "electronic"];

    /// How a guide writes it.
    pub fn label(self) -> &'static str {
        match self {
            MaterialForm::Original => "原件",
            MaterialForm::Copy => "复印件",
            MaterialForm::OriginalAndCopy => "原件及复印件",
            MaterialForm::Electronic => "电子材料",
        }
    }
}

/// 办事指南 facts of a material.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialGuide {
    /// 原件/复印件.
    pub form: Option<MaterialForm>,
    /// How many copies (份数).
    pub copies: Option<u32>,
    /// Where a sample (样本) is published.
    pub sample: Option<String>,
    /// A note for the applicant (填写说明, 注意事项).
    pub note: Option<String>,
}
