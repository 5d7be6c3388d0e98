//! `form:` fields and `materials:`.

use indexmap::IndexMap;

use super::{IdKind, Reader};
use crate::diagnostic::{Code, Diagnostic};
use crate::keys;
use crate::model::{FieldType, FormField, Located, MaterialDef, MaterialSource, Required};
use crate::yaml::{Node, NodeKind};

const FIELD_TYPES: &[(&str, FieldType)] = &[
    ("string", FieldType::String),
    ("number", FieldType::Number),
    ("integer", FieldType::Integer),
    ("boolean", FieldType::Boolean),
    ("date", FieldType::Date),
    ("list", FieldType::List),
    ("object", FieldType::Object),
];

/// Reads a map of field id → field (the form, a list's `items`, an object's `fields`).
pub(crate) fn read_fields(
    r: &mut Reader,
    node: &Node,
    text: &str,
    what: &str,
) -> IndexMap<String, FormField> {
    let mut out = IndexMap::new();
    let Some(fields) = r.entries(node, what, Code::DuplicateKey) else {
        return out;
    };
    for (key, value) in fields.entries() {
        let ok = r.check_id(&key.name, key.pos, "field id", IdKind::Name);
        let field = read_field(r, value, text, &format!("field `{}`", key.name));
        if field.is_none() || !ok {
            r.broken.form.insert(key.name.clone());
        }
        if let Some(field) = field
            && ok
        {
            out.insert(
                key.name.clone(),
                FormField {
                    pos: key.pos,
                    ..field
                },
            );
        }
    }
    out
}

fn read_field(r: &mut Reader, node: &Node, text: &str, what: &str) -> Option<FormField> {
    let f = r.map(node, what, keys::FORM_FIELD)?;
    let ty = match r.require(
        &f,
        "type",
        what,
        "add `type:` (string, number, integer, boolean, date, list or object)",
    ) {
        Some(v) => r.choice(v, "field type", FIELD_TYPES)?,
        None => return None,
    };
    let required = f.get("required").map_or(Required::No, |v| {
        r.required(v, text, &format!("{what}: `required`"))
    });
    let title = f.get("title").and_then(|v| r.string(v, "`title`"));
    let min = f.get("min").and_then(|v| r.number(v, "`min`"));
    let max = f.get("max").and_then(|v| r.number(v, "`max`"));
    if let (Some(lo), Some(hi), Some(v)) = (min, max, f.get("max"))
        && lo > hi
    {
        r.push(
            Diagnostic::new(
                Code::InvalidValue,
                v.pos,
                format!("{what}: `max` ({hi}) is below `min` ({lo})"),
            )
            .with_hint("swap them, or widen the range"),
        );
    }
    let pattern = f.get("pattern").and_then(|v| {
        let p = r.string(v, "`pattern`")?;
        if let Err(e) = regex::Regex::new(&p) {
            r.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    v.pos,
                    format!("{what}: `pattern` is not a valid regular expression: {e}"),
                )
                .with_hint("quote the pattern with single quotes so backslashes stay as written"),
            );
            return None;
        }
        if ty != FieldType::String {
            r.push(
                Diagnostic::new(
                    Code::MisplacedKey,
                    v.pos,
                    format!("{what}: `pattern` applies to text fields only"),
                )
                .with_hint("remove `pattern`, or make the field `type: string`"),
            );
        }
        Some(p)
    });
    let allowed = f.get("enum").and_then(|v| match &v.kind {
        NodeKind::Seq(items) => Some(
            items
                .iter()
                .filter_map(|n| scalar_json(r, n, "an `enum` value"))
                .collect(),
        ),
        _ => {
            r.wrong_type(v, "`enum`", "a list of allowed values");
            None
        }
    });
    let default = f.get("default").and_then(|v| {
        let value = node_json(v);
        if !json_fits(&value, ty) {
            r.push(
                Diagnostic::new(
                    Code::WrongType,
                    v.pos,
                    format!(
                        "{what}: the default does not fit `type: {}`",
                        FIELD_TYPES
                            .iter()
                            .find(|(_, t)| *t == ty)
                            .map_or("?", |(n, _)| *n)
                    ),
                )
                .with_hint("give a default of the field's type"),
            );
            return None;
        }
        Some(value)
    });
    let mut sub = IndexMap::new();
    match ty {
        FieldType::List => {
            if let Some(v) = f.get("items") {
                sub = read_fields(r, v, text, &format!("{what}: `items`"));
            }
            if let Some(v) = f.get("fields") {
                misplaced(
                    r,
                    v,
                    what,
                    "fields",
                    "lists describe their elements with `items`",
                );
            }
        }
        FieldType::Object => {
            if let Some(v) = f.get("fields") {
                sub = read_fields(r, v, text, &format!("{what}: `fields`"));
            }
            if let Some(v) = f.get("items") {
                misplaced(
                    r,
                    v,
                    what,
                    "items",
                    "objects describe their parts with `fields`",
                );
            }
        }
        _ => {
            for key in ["items", "fields"] {
                if let Some(v) = f.get(key) {
                    misplaced(
                        r,
                        v,
                        what,
                        key,
                        "only `list` and `object` fields have sub-fields",
                    );
                }
            }
        }
    }
    Some(FormField {
        pos: node.pos,
        ty,
        required,
        default,
        title,
        min,
        max,
        pattern,
        allowed,
        fields: sub,
    })
}

fn misplaced(r: &mut Reader, v: &Node, what: &str, key: &str, hint: &str) {
    r.push(
        Diagnostic::new(
            Code::MisplacedKey,
            v.pos,
            format!("{what}: `{key}` does not apply here"),
        )
        .with_hint(hint.to_owned()),
    );
}

fn scalar_json(r: &mut Reader, node: &Node, what: &str) -> Option<serde_json::Value> {
    match &node.kind {
        NodeKind::Seq(_) | NodeKind::Map(_) => {
            r.wrong_type(node, what, "a single value");
            None
        }
        _ => Some(node_json(node)),
    }
}

/// A node as JSON (defaults and enum values are data, not DSL).
pub(crate) fn node_json(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match &node.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Bool(b) => Value::Bool(*b),
        NodeKind::Int(i) => Value::from(*i),
        NodeKind::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        NodeKind::Str(s) => Value::String(s.clone()),
        NodeKind::Seq(items) => Value::Array(items.iter().map(node_json).collect()),
        NodeKind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.name.clone(), node_json(v)))
                .collect(),
        ),
    }
}

fn json_fits(v: &serde_json::Value, ty: FieldType) -> bool {
    use serde_json::Value;
    match (ty, v) {
        (FieldType::String | FieldType::Date, Value::String(_)) => true,
        (FieldType::Number, Value::Number(_)) => true,
        (FieldType::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (FieldType::Boolean, Value::Bool(_)) => true,
        (FieldType::List, Value::Array(_)) => true,
        (FieldType::Object, Value::Object(_)) => true,
        _ => false,
    }
}

/// Reads `materials:`.
pub(crate) fn read_materials(
    r: &mut Reader,
    node: &Node,
    text: &str,
) -> IndexMap<String, MaterialDef> {
    let mut out = IndexMap::new();
    let Some(fields) = r.entries(node, "`materials`", Code::DuplicateKey) else {
        return out;
    };
    for (key, value) in fields.entries() {
        let ok = r.check_id(&key.name, key.pos, "material id", IdKind::Name);
        let what = format!("material `{}`", key.name);
        let Some(f) = r.map(value, &what, keys::MATERIAL) else {
            r.broken.materials.insert(key.name.clone());
            continue;
        };
        if !ok {
            r.broken.materials.insert(key.name.clone());
        }
        let title = f.get("title").and_then(|v| r.string(v, "`title`"));
        let required = f.get("required").map_or(Required::No, |v| {
            r.required(v, text, &format!("{what}: `required`"))
        });
        let deferrable = f
            .get("deferrable")
            .and_then(|v| r.duration(v, "`deferrable`"));
        let source = match f.get("source") {
            None => MaterialSource::Applicant,
            Some(v) => match r.string(v, "`source`").as_deref() {
                Some("applicant") => MaterialSource::Applicant,
                Some("shared") => MaterialSource::Shared,
                Some(s) if s.starts_with("task.") => MaterialSource::Task(Located {
                    value: s["task.".len()..].to_owned(),
                    pos: v.pos,
                }),
                Some(s) => {
                    r.push(
                        Diagnostic::new(Code::InvalidValue, v.pos, format!("`{s}` is not a valid material source"))
                            .with_hint("use `applicant` (uploaded), `shared` (data sharing) or `task.<task id>` (a licence a task produces)"),
                    );
                    MaterialSource::Applicant
                }
                None => MaterialSource::Applicant,
            },
        };
        if let (Some(d), MaterialSource::Shared | MaterialSource::Task(_)) = (&deferrable, &source)
        {
            r.push(
                Diagnostic::new(
                    Code::MisplacedKey,
                    d.pos,
                    format!("{what}: only materials the applicant uploads can be deferred"),
                )
                .with_hint("remove `deferrable`, or make the source `applicant`"),
            );
        }
        let guide = super::guide::read_material_guide(r, &f);
        if ok {
            out.insert(
                key.name.clone(),
                MaterialDef {
                    pos: key.pos,
                    title,
                    required,
                    deferrable,
                    source,
                    guide,
                },
            );
        }
    }
    out
}
