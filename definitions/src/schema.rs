//! The JSON Schema of the DSL, for editors (yaml-language-server) to complete and check
//! bundles as designers type. Committed as `definitions/bundle.schema.json`.
//!
//! The property lists come from [`crate::keys`], the same lists the reader uses, so the
//! schema cannot offer a key the checker rejects (a test holds the two together).

use serde_json::{Map, Value, json};

use crate::keys;
use crate::model::{FieldType, MaterialForm, OutputType};

const DURATION: &str = "^[0-9]+(wd|d|h|m|s)$";

fn duration(desc: &str) -> Value {
    json!({"type": "string", "pattern": DURATION, "description": desc})
}

fn expression(desc: &str) -> Value {
    json!({"type": ["string", "boolean"], "description": format!("{desc} (a CEL expression)")})
}

fn object(allowed: &[&str], props: Vec<(&str, Value)>, required: &[&str]) -> Value {
    let mut map = Map::new();
    for key in allowed {
        let v = props
            .iter()
            .find(|(k, _)| k == key)
            .map_or_else(|| json!({}), |(_, v)| v.clone());
        map.insert((*key).to_owned(), v);
    }
    json!({"type": "object", "additionalProperties": false, "properties": map, "required": required})
}

/// The schema, as a JSON value.
pub fn schema() -> Value {
    let name = json!({"type": "string", "pattern": "^[a-z][a-z0-9_]*$"});
    let required =
        json!({"description": "true, false, or an expression", "type": ["boolean", "string"]});
    let form_field = object(
        keys::FORM_FIELD,
        vec![
            ("type", json!({"enum": FieldType::NAMES})),
            ("required", required.clone()),
            ("default", json!({"description": "value when not given"})),
            ("title", json!({"type": "string"})),
            ("min", json!({"type": "number"})),
            ("max", json!({"type": "number"})),
            (
                "pattern",
                json!({"type": "string", "description": "regular expression the text must match"}),
            ),
            (
                "enum",
                json!({"type": "array", "description": "allowed values"}),
            ),
            (
                "items",
                json!({"type": "object", "propertyNames": {"$ref": "#/$defs/name"}, "additionalProperties": {"$ref": "#/$defs/formField"}, "description": "fields of each element (type: list)"}),
            ),
            (
                "fields",
                json!({"type": "object", "propertyNames": {"$ref": "#/$defs/name"}, "additionalProperties": {"$ref": "#/$defs/formField"}, "description": "fields of the object (type: object)"}),
            ),
        ],
        &["type"],
    );
    let material = object(
        keys::MATERIAL,
        vec![
            ("title", json!({"type": "string"})),
            ("required", required),
            (
                "deferrable",
                duration("容缺: may arrive this long after acceptance"),
            ),
            (
                "source",
                json!({"type": "string", "pattern": "^(applicant|shared|task\\.[a-z][a-z0-9_]*)$", "description": "applicant (uploaded, default) | shared (data sharing) | task.<id> (a licence the task produces)"}),
            ),
            (
                "form",
                json!({"enum": MaterialForm::NAMES, "description": "办事指南: 原件, 复印件, 原件及复印件 or 电子材料"}),
            ),
            (
                "copies",
                json!({"type": "integer", "minimum": 1, "description": "办事指南: how many copies (份数)"}),
            ),
            (
                "sample",
                json!({"type": "string", "description": "办事指南: where a sample (样本) is published"}),
            ),
            (
                "note",
                json!({"type": "string", "description": "办事指南: a note for the applicant"}),
            ),
        ],
        &[],
    );
    let task = object(
        keys::TASK,
        vec![
            ("title", json!({"type": "string"})),
            (
                "department",
                json!({"type": "string", "pattern": "^[a-z][a-z0-9_-]*$", "description": "department id, bound to a back office per deployment"}),
            ),
            (
                "item",
                json!({"type": ["string", "integer"], "description": "事项编码 of the service item"}),
            ),
            (
                "after",
                json!({"description": "tasks that must be settled first", "oneOf": [{"$ref": "#/$defs/name"}, {"type": "array", "items": {"$ref": "#/$defs/name"}}]}),
            ),
            ("when", expression("skipped when false")),
            (
                "for_each",
                expression("one instance per element of this list"),
            ),
            (
                "as",
                json!({"$ref": "#/$defs/name", "description": "variable name of the element (default item)"}),
            ),
            (
                "input",
                json!({"type": "object", "additionalProperties": {"type": ["string", "boolean", "number"]}, "description": "what the department receives: name -> expression"}),
            ),
            (
                "materials",
                json!({"oneOf": [{"$ref": "#/$defs/name"}, {"type": "array", "items": {"$ref": "#/$defs/name"}}]}),
            ),
            (
                "output",
                json!({"type": "object", "propertyNames": {"$ref": "#/$defs/name"}, "additionalProperties": {"enum": OutputType::NAMES}}),
            ),
            ("time_limit", duration("promised limit (承诺时限)")),
            ("statutory_limit", duration("legal limit (法定时限)")),
            (
                "warn",
                json!({"type": "string", "pattern": "^([0-9]+(wd|d|h|m|s)|[1-9][0-9]?%)$", "description": "yellow warning: a duration before due, or a percentage of the limit"}),
            ),
            ("mode", json!({"enum": ["decide", "commitment", "auto"]})),
            (
                "commitment",
                json!({"enum": ["allowed", false], "description": "with decide: the applicant may choose 告知承诺"}),
            ),
            (
                "verify_within",
                duration("with commitment: deadline of the verification task"),
            ),
            ("rule", expression("with auto: approved when true")),
            (
                "retry",
                object(
                    keys::RETRY,
                    vec![
                        ("attempts", json!({"type": "integer", "minimum": 1})),
                        (
                            "backoff",
                            json!({"type": "string", "pattern": "^[0-9]+(h|m|s)\\.\\.[0-9]+(h|m|s)$"}),
                        ),
                    ],
                    &[],
                ),
            ),
            (
                "send_back",
                json!({"description": "退回: whether a downstream department may return this task's result to be redone (default true), or at most how often", "oneOf": [{"type": "boolean"}, object(keys::SEND_BACK, vec![("max", json!({"type": "integer", "minimum": 1}))], &[])]}),
            ),
            (
                "legal_basis",
                json!({"description": "办事指南: 设定依据, the laws and rules the item rests on", "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
            ),
            (
                "fee",
                json!({"type": "string", "description": "办事指南: 收费标准, e.g. 不收费"}),
            ),
        ],
        &["title", "department"],
    );
    let bundle = object(
        keys::BUNDLE,
        vec![
            ("yijian", json!({"const": 1, "description": "DSL version"})),
            ("id", json!({"type": "string", "pattern": "^[a-z0-9-]+$"})),
            ("version", json!({"type": "integer", "minimum": 0})),
            ("title", json!({"type": "string"})),
            ("description", json!({"type": "string"})),
            (
                "calendar",
                json!({"type": "string", "description": "working-day calendar id (default cn)"}),
            ),
            ("time_limit", duration("promised limit of the bundle")),
            ("statutory_limit", duration("legal limit of the bundle")),
            (
                "form",
                json!({"type": "object", "propertyNames": {"$ref": "#/$defs/name"}, "additionalProperties": {"$ref": "#/$defs/formField"}}),
            ),
            (
                "materials",
                json!({"type": "object", "propertyNames": {"$ref": "#/$defs/name"}, "additionalProperties": {"$ref": "#/$defs/material"}}),
            ),
            (
                "tasks",
                json!({"type": "object", "minProperties": 1, "propertyNames": {"$ref": "#/$defs/name"}, "additionalProperties": {"$ref": "#/$defs/task"}}),
            ),
            (
                "result",
                object(
                    keys::RESULT,
                    vec![
                        (
                            "on_reject",
                            json!({"enum": ["cancel_dependants", "reject_bundle"]}),
                        ),
                        (
                            "on_deferred_overdue",
                            json!({"enum": ["terminate", "escalate"]}),
                        ),
                        (
                            "documents",
                            json!({"type": "object", "additionalProperties": {"type": ["string", "boolean", "number"]}}),
                        ),
                    ],
                    &[],
                ),
            ),
            (
                "supplement",
                object(
                    keys::SUPPLEMENT,
                    vec![
                        (
                            "respond_within",
                            duration("the applicant's deadline; afterwards the case is abandoned"),
                        ),
                        ("pause", json!({"enum": ["task", "case"]})),
                    ],
                    &[],
                ),
            ),
            (
                "evaluation",
                object(
                    keys::EVALUATION,
                    vec![(
                        "rectify_within",
                        duration("deadline of a rectification task"),
                    )],
                    &[],
                ),
            ),
            (
                "offered_when",
                expression("when false the bundle is refused at intake"),
            ),
            (
                "trigger",
                object(
                    keys::TRIGGER,
                    vec![("proposed", json!({"type": "boolean"}))],
                    &[],
                ),
            ),
            (
                "guide",
                object(
                    keys::GUIDE,
                    vec![
                        (
                            "applicants",
                            json!({"description": "服务对象", "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
                        ),
                        (
                            "channels",
                            json!({"description": "where one may apply: window, portal, app, kiosk, or one's own names", "type": "array", "items": {"type": "string"}}),
                        ),
                        (
                            "where",
                            json!({"type": "string", "description": "办理地点"}),
                        ),
                        (
                            "hours",
                            json!({"type": "string", "description": "办理时间"}),
                        ),
                        (
                            "phone",
                            object(
                                keys::PHONE,
                                vec![
                                    (
                                        "consult",
                                        json!({"type": ["string", "integer"], "description": "咨询电话"}),
                                    ),
                                    (
                                        "complaint",
                                        json!({"type": ["string", "integer"], "description": "投诉电话"}),
                                    ),
                                ],
                                &[],
                            ),
                        ),
                        (
                            "departments",
                            json!({"type": "object", "additionalProperties": {"type": "string"}, "description": "department id -> display name"}),
                        ),
                        ("notes", json!({"type": "string"})),
                    ],
                    &[],
                ),
            ),
        ],
        &["yijian", "id", "version", "title", "tasks"],
    );
    let mut root = bundle;
    if let Value::Object(m) = &mut root {
        m.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        m.insert(
            "$id".into(),
            json!("https://yijian.invalid/bundle.schema.json"),
        );
        m.insert("title".into(), json!("yijian bundle (DSL v1)"));
        m.insert(
            "$defs".into(),
            json!({"name": name, "formField": form_field, "material": material, "task": task}),
        );
    }
    root
}

/// The schema as pretty JSON text with a final newline (the committed file's form).
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(v: &Value) -> Vec<String> {
        v["properties"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn schema_offers_exactly_the_keys_the_reader_accepts() {
        let s = schema();
        assert_eq!(props(&s), keys::BUNDLE);
        assert_eq!(props(&s["$defs"]["task"]), keys::TASK);
        assert_eq!(props(&s["$defs"]["formField"]), keys::FORM_FIELD);
        assert_eq!(props(&s["$defs"]["material"]), keys::MATERIAL);
        assert_eq!(props(&s["properties"]["result"]), keys::RESULT);
    }

    #[test]
    fn committed_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/bundle.schema.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == schema_text(),
            "definitions/bundle.schema.json is stale: run `cargo run -- schema > definitions/bundle.schema.json`"
        );
    }
}
