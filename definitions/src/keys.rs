//! The keys of every map in the DSL: one list used by the reader (unknown keys, "did you
//! mean") and by the JSON Schema, so the two cannot drift apart.

/// Top-level keys of a bundle.
pub const BUNDLE: &[&str] = &[
    "yijian",
    "id",
    "version",
    "title",
    "description",
    "calendar",
    "time_limit",
    "statutory_limit",
    "form",
    "materials",
    "tasks",
    "result",
    "supplement",
    "evaluation",
    "offered_when",
    "trigger",
    "guide",
];

/// Keys of `guide` (办事指南 facts).
pub const GUIDE: &[&str] = &[
    "applicants",
    "channels",
    "where",
    "hours",
    "phone",
    "departments",
    "notes",
];

/// Keys of `guide.phone`.
pub const PHONE: &[&str] = &["consult", "complaint"];

/// Keys of a form field.
pub const FORM_FIELD: &[&str] = &[
    "type", "required", "default", "title", "min", "max", "pattern", "enum", "items", "fields",
];

/// Keys of a material.
pub const MATERIAL: &[&str] = &[
    "title",
    "required",
    "deferrable",
    "source",
    "form",
    "copies",
    "sample",
    "note",
];

/// Keys of a task.
pub const TASK: &[&str] = &[
    "title",
    "department",
    "item",
    "after",
    "when",
    "for_each",
    "as",
    "input",
    "materials",
    "output",
    "time_limit",
    "statutory_limit",
    "warn",
    "mode",
    "commitment",
    "verify_within",
    "rule",
    "retry",
    "send_back",
    "legal_basis",
    "fee",
];

/// Keys of `send_back` (as a mapping).
pub const SEND_BACK: &[&str] = &["max"];

/// Keys of `retry`.
pub const RETRY: &[&str] = &["attempts", "backoff"];

/// Keys of `result`.
pub const RESULT: &[&str] = &["on_reject", "on_deferred_overdue", "documents"];

/// Keys of `supplement`.
pub const SUPPLEMENT: &[&str] = &["respond_within", "pause"];

/// Keys of `evaluation`.
pub const EVALUATION: &[&str] = &["rectify_within"];

/// Keys of `trigger`.
pub const TRIGGER: &[&str] = &["proposed"];

/// Names available at the top of every expression.
pub const EXPRESSION_ROOTS: &[&str] = &["form", "materials", "tasks", "case"];

/// Fields of `case` in expressions.
pub const CASE_FIELDS: &[&str] = &["no", "accepted_at", "region"];

/// Fields of `tasks.<id>` in expressions.
pub const TASK_FIELDS: &[&str] = &["status", "output"];

/// Fields of `materials.<id>` in expressions.
pub const MATERIAL_FIELDS: &[&str] = &["provided"];
