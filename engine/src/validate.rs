//! Checking data against the bundle: the form and materials of a submission, a supply, a
//! supplement request, and a task's output against its declaration. Every problem is
//! collected, with a path such as `form.partners[1].id_no`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};
use yijian_definitions::model::{FieldType, FormField};
use yijian_definitions::{Blueprint, MaterialOrigin, OutputType, TaskMode, TaskSpec};

use crate::case::{CaseState, Missing};
use crate::command::{MaterialRef, Submission};
use crate::eval;
use crate::rejection::Problem;

/// Validates a form; returns it with defaults applied, and the problems.
pub(crate) fn form(
    bp: &Blueprint,
    given: &Map<String, Value>,
) -> (Map<String, Value>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut out = Map::with_capacity(bp.form.len());
    for key in given.keys() {
        if !bp.form.contains_key(key) {
            problems.push(Problem::new(
                format!("form.{key}"),
                "is not a field of this form",
            ));
        }
    }
    for (name, rule) in &bp.form {
        let path = format!("form.{name}");
        match given.get(name).filter(|v| !v.is_null()) {
            Some(v) => {
                check_value(&rule.field, v, &path, &mut problems);
                out.insert(name.clone(), v.clone());
            }
            None => {
                if let Some(d) = &rule.field.default {
                    out.insert(name.clone(), d.clone());
                } else if rule.field.required == yijian_definitions::model::Required::Yes {
                    problems.push(Problem::new(path, "is required"));
                } else {
                    // An optional list left out is an empty list (and so on), so conditions
                    // such as `size(form.partners) > 0` work without a `default`; other
                    // types are null, so data mapping passes them on as "not given".
                    out.insert(
                        name.clone(),
                        implicit_default(rule.field.ty).unwrap_or(Value::Null),
                    );
                }
            }
        }
    }
    (out, problems)
}

/// The value an optional field left out takes when it declares no `default`: empty for
/// lists and objects, false for booleans; other types are null (test with `form.x != null`).
fn implicit_default(ty: FieldType) -> Option<Value> {
    match ty {
        FieldType::List => Some(Value::Array(Vec::new())),
        FieldType::Object => Some(Value::Object(Map::new())),
        FieldType::Boolean => Some(Value::Bool(false)),
        _ => None,
    }
}

/// The start of the message when a `required: <expr>` rule cannot be evaluated.
pub(crate) const UNDECIDED: &str = "whether it is required could not be decided";

/// `required: <expr>` rules for form fields and materials, evaluated on the case's form.
fn required_when(
    expr: &yijian_definitions::Expr,
    state: &CaseState,
    path: &str,
    problems: &mut Vec<Problem>,
) -> bool {
    match eval::eval_bool(expr, state, None) {
        Ok(b) => b,
        Err(e) => {
            problems.push(Problem::new(path, format!("{UNDECIDED}: {e}")));
            false
        }
    }
}

fn check_value(field: &FormField, v: &Value, path: &str, problems: &mut Vec<Problem>) {
    let ok = match field.ty {
        FieldType::String => v.is_string(),
        FieldType::Number => v.is_number(),
        FieldType::Integer => {
            v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        FieldType::Boolean => v.is_boolean(),
        FieldType::Date => v
            .as_str()
            .is_some_and(|s| s.parse::<jiff::civil::Date>().is_ok()),
        FieldType::List => v.is_array(),
        FieldType::Object => v.is_object(),
        _ => true,
    };
    if !ok {
        let expected = match field.ty {
            FieldType::String => "text",
            FieldType::Number => "a number",
            FieldType::Integer => "a whole number",
            FieldType::Boolean => "true or false",
            FieldType::Date => "a date YYYY-MM-DD",
            FieldType::List => "a list",
            FieldType::Object => "an object",
            _ => "a value",
        };
        problems.push(Problem::new(path, format!("must be {expected}")));
        return;
    }
    let size = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => Some(s.chars().count() as f64),
        Value::Array(a) => Some(a.len() as f64),
        _ => None,
    };
    let unit = if v.is_number() {
        ""
    } else if v.is_array() {
        " elements"
    } else {
        " characters"
    };
    if let (Some(min), Some(n)) = (field.min, size)
        && n < min
    {
        problems.push(Problem::new(path, format!("must be at least {min}{unit}")));
    }
    if let (Some(max), Some(n)) = (field.max, size)
        && n > max
    {
        problems.push(Problem::new(path, format!("must be at most {max}{unit}")));
    }
    if let (Some(p), Some(s)) = (&field.pattern, v.as_str())
        && !matches_pattern(p, s)
    {
        problems.push(Problem::new(
            path,
            format!("does not match the pattern {p}"),
        ));
    }
    if let Some(allowed) = &field.allowed
        && !allowed.contains(v)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        problems.push(Problem::new(
            path,
            format!("must be one of {}", list.join(", ")),
        ));
    }
    match (field.ty, v) {
        (FieldType::List, Value::Array(items)) if !field.fields.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                match item.as_object() {
                    Some(obj) => fields(&field.fields, obj, &p, problems),
                    None => problems.push(Problem::new(p, "must be an object")),
                }
            }
        }
        (FieldType::Object, Value::Object(obj)) if !field.fields.is_empty() => {
            fields(&field.fields, obj, path, problems)
        }
        _ => {}
    }
}

fn fields(
    decl: &indexmap::IndexMap<String, FormField>,
    obj: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<Problem>,
) {
    for key in obj.keys() {
        if !decl.contains_key(key) {
            problems.push(Problem::new(format!("{path}.{key}"), "is not a field here"));
        }
    }
    for (name, f) in decl {
        let p = format!("{path}.{name}");
        match obj.get(name).filter(|v| !v.is_null()) {
            Some(v) => check_value(f, v, &p, problems),
            None if f.required == yijian_definitions::model::Required::Yes
                && f.default.is_none() =>
            {
                problems.push(Problem::new(p, "is required"))
            }
            None => {}
        }
    }
}

fn matches_pattern(pattern: &str, s: &str) -> bool {
    // Patterns were checked when the bundle was deployed; compile each once per process.
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let Ok(mut cache) = cache.lock() else {
        return true;
    };
    let re = cache
        .entry(pattern.to_owned())
        .or_insert_with(|| regex::Regex::new(pattern).ok());
    re.as_ref().is_none_or(|re| re.is_match(s))
}

/// Validates a whole application on `state` (a scratch case): its form (left in the state
/// with defaults applied, so `required: <expr>` rules see it), materials and commitments.
/// Returns the form, the deferrable materials accepted as missing (容缺), and every
/// problem — a wrong value's echoes in undecidable `required: <expr>` rules left out.
pub(crate) fn application(
    state: &mut CaseState,
    s: &Submission,
) -> (serde_json::Map<String, Value>, Vec<String>, Vec<Problem>) {
    let bp = state.blueprint.clone();
    let (form, mut problems) = form(&bp, &s.form);
    state.form = std::sync::Arc::new(form.clone());
    let (deferred, more) = materials(state, s);
    problems.extend(more);
    problems.extend(commitments(&bp, &s.commitments));
    if problems.iter().any(|p| !p.message.starts_with(UNDECIDED)) {
        problems.retain(|p| !p.message.starts_with(UNDECIDED));
    }
    (form, deferred, problems)
}

/// Validates the materials of a submission (the state's form already holds the form).
/// Returns the deferrable materials accepted as missing (容缺), and the problems.
pub(crate) fn materials(state: &CaseState, s: &Submission) -> (Vec<String>, Vec<Problem>) {
    let bp = &state.blueprint;
    let mut problems = Vec::new();
    let mut deferred = Vec::new();
    for (id, m) in &s.materials {
        let path = format!("materials.{id}");
        match bp.materials.get(id) {
            None => problems.push(Problem::new(path, "is not a material of this bundle")),
            Some(spec) if matches!(spec.source, MaterialOrigin::Task(_)) => {
                problems.push(Problem::new(
                    path,
                    "is produced by a task of this bundle; it cannot be uploaded",
                ))
            }
            Some(_) => material_ref(m, &path, &mut problems),
        }
    }
    for id in &s.unavailable {
        if !bp
            .materials
            .get(id)
            .is_some_and(|m| m.source == MaterialOrigin::Shared)
        {
            problems.push(Problem::new(
                format!("unavailable.{id}"),
                "is not a shared (data-sharing) material",
            ));
        }
    }
    for (id, spec) in &bp.materials {
        let path = format!("materials.{id}");
        let needed = spec.required
            || spec
                .required_when
                .as_ref()
                .is_some_and(|e| required_when(e, state, &path, &mut problems));
        if !needed || s.materials.contains_key(id) {
            continue;
        }
        match spec.source {
            MaterialOrigin::Task(_) => {}
            MaterialOrigin::Shared if !s.unavailable.contains(id) => {}
            MaterialOrigin::Shared => problems.push(Problem::new(
                path,
                "could not be fetched by data sharing; upload it",
            )),
            _ if spec.deferrable.is_some() => deferred.push(id.clone()),
            _ => problems.push(Problem::new(path, "is required")),
        }
    }
    for (name, rule) in &bp.form {
        if let Some(e) = &rule.required_when
            && state.form.get(name).is_none_or(Value::is_null)
        {
            let path = format!("form.{name}");
            if required_when(e, state, &path, &mut problems) {
                problems.push(Problem::new(path, "is required for this application"));
            }
        }
    }
    (deferred, problems)
}

fn material_ref(m: &MaterialRef, path: &str, problems: &mut Vec<Problem>) {
    if m.name.trim().is_empty() {
        problems.push(Problem::new(format!("{path}.name"), "is required"));
    }
    let hex = m.sha256.len() == 64 && m.sha256.bytes().all(|b| b.is_ascii_hexdigit());
    if !m.sha256.is_empty() && !hex {
        problems.push(Problem::new(
            format!("{path}.sha256"),
            "must be 64 hexadecimal characters",
        ));
    }
}

/// Tasks the applicant takes by 告知承诺 must allow it.
pub(crate) fn commitments(bp: &Blueprint, ids: &[String]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for id in ids {
        let path = format!("commitments.{id}");
        match bp.task(id).map(|t| &t.mode) {
            None => problems.push(Problem::new(path, "is not a task of this bundle")),
            Some(
                TaskMode::Decide {
                    commitment_allowed: true,
                    ..
                }
                | TaskMode::Commitment { .. },
            ) => {}
            Some(_) => problems.push(Problem::new(path, "does not allow 告知承诺")),
        }
    }
    problems
}

/// Checks an output against the task's declaration: every declared field, of its type, and
/// nothing else.
pub(crate) fn output(spec: &TaskSpec, output: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(obj) = output.as_object() else {
        if spec.output.is_empty() && output.is_null() {
            return problems;
        }
        problems.push(Problem::new("output", "must be an object"));
        return problems;
    };
    for key in obj.keys() {
        if !spec.output.contains_key(key) {
            problems.push(Problem::new(
                format!("output.{key}"),
                "is not declared in the task's `output`",
            ));
        }
    }
    for (name, ty) in &spec.output {
        let path = format!("output.{name}");
        let Some(v) = obj.get(name).filter(|v| !v.is_null()) else {
            problems.push(Problem::new(path, "is declared but missing"));
            continue;
        };
        let ok = match ty {
            OutputType::String => v.is_string(),
            OutputType::Number => v.is_number(),
            OutputType::Integer => v.is_i64() || v.is_u64(),
            OutputType::Boolean => v.is_boolean(),
            OutputType::Date => v
                .as_str()
                .is_some_and(|s| s.parse::<jiff::civil::Date>().is_ok()),
            OutputType::List => v.is_array(),
            OutputType::Object => v.is_object(),
            OutputType::Licence => serde_json::from_value::<MaterialRef>(v.clone())
                .is_ok_and(|m| !m.name.is_empty() && m.uri.is_some()),
            _ => true,
        };
        if !ok {
            let expected = match ty {
                OutputType::Licence => "an electronic licence {name, uri, sha256}".to_owned(),
                other => format!(
                    "of type {}",
                    serde_json::to_value(other)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            };
            problems.push(Problem::new(path, format!("must be {expected}")));
        }
    }
    problems
}

/// A supplement request must name declared materials or form fields.
pub(crate) fn missing(bp: &Blueprint, missing: &[Missing]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, m) in missing.iter().enumerate() {
        let path = format!("missing[{i}]");
        match (&m.material, &m.field) {
            (Some(id), _) if !bp.materials.contains_key(id) => problems.push(Problem::new(
                path,
                format!("`{id}` is not a material of this bundle"),
            )),
            (_, Some(f))
                if !bp
                    .form
                    .contains_key(f.split(['.', '[']).next().unwrap_or_default()) =>
            {
                problems.push(Problem::new(
                    path,
                    format!("`{f}` is not a field of this form"),
                ))
            }
            (None, None) => {
                problems.push(Problem::new(path, "must name a `material` or a `field`"))
            }
            _ => {}
        }
        if m.reason.trim().is_empty() {
            problems.push(Problem::new(
                format!("missing[{i}].reason"),
                "must say what is wrong (一次性告知)",
            ));
        }
    }
    problems
}

/// A supply: known form fields of the right type, uploadable materials.
pub(crate) fn supply(
    state: &CaseState,
    form: &Map<String, Value>,
    materials: &BTreeMap<String, MaterialRef>,
) -> Vec<Problem> {
    let bp = &state.blueprint;
    let mut problems = Vec::new();
    for (k, v) in form {
        let path = format!("form.{k}");
        match bp.form.get(k) {
            None => problems.push(Problem::new(path, "is not a field of this form")),
            Some(rule) => check_value(&rule.field, v, &path, &mut problems),
        }
    }
    for (id, m) in materials {
        let path = format!("materials.{id}");
        match bp.materials.get(id) {
            None => problems.push(Problem::new(path, "is not a material of this bundle")),
            Some(spec) if matches!(spec.source, MaterialOrigin::Task(_)) => {
                problems.push(Problem::new(
                    path,
                    "is produced by a task of this bundle; it cannot be uploaded",
                ))
            }
            Some(_) => material_ref(m, &path, &mut problems),
        }
    }
    problems
}
