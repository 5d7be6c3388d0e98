//! What a script leaves out, filled in so that it says only what matters to its question:
//! the materials an application hands in and the electronic licences an approval returns.

use std::collections::BTreeMap;

use crate::definitions::{Blueprint, MaterialOrigin, OutputType};
use crate::engine::ids::Part;
use crate::engine::{MaterialRef, Submission, TaskRef};
use serde_json::{Map, Value};

/// The application: every material the applicant uploads is supplied (a placeholder
/// file unless the script gives one), except those listed as missing.
pub(crate) fn submission(
    bp: &Blueprint,
    form: &Map<String, Value>,
    materials: Option<&Value>,
    missing: &[String],
    unavailable: &[String],
    region: &str,
) -> Result<Submission, String> {
    let mut given = materials_given(materials)?;
    for id in missing {
        match bp.materials.get(id) {
            None => {
                return Err(format!("missing: `{id}` is not a material of this bundle"));
            }
            Some(_) if given.contains_key(id) => {
                return Err(format!("missing: `{id}` is also listed under `materials`"));
            }
            Some(_) => {}
        }
    }
    for (id, spec) in &bp.materials {
        if spec.source == MaterialOrigin::Applicant
            && !missing.contains(id)
            && !given.contains_key(id)
        {
            given.insert(id.clone(), placeholder(id));
        }
    }
    Ok(Submission {
        region: region.to_owned(),
        form: form.clone(),
        materials: given,
        unavailable: unavailable.to_vec(),
        commitments: Vec::new(),
        ..Submission::default()
    })
}

/// An approval's output with every declared electronic licence the script leaves out
/// filled in with a placeholder.
pub(crate) fn with_licences(bp: &Blueprint, name: &str, output: Value) -> Value {
    let Some(r) = TaskRef::parse(bp, name) else {
        return output;
    };
    if r.part != Part::Main {
        return output;
    }
    let Some(spec) = bp.tasks.get(r.task.index()) else {
        return output;
    };
    let licences: Vec<&String> = spec
        .output
        .iter()
        .filter(|(_, t)| **t == OutputType::Licence)
        .map(|(k, _)| k)
        .collect();
    if licences.is_empty() {
        return output;
    }
    let mut obj = match output {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => return other,
    };
    for field in licences {
        obj.entry(field.clone()).or_insert_with(|| {
            serde_json::json!({
                "name": format!("{field}.pdf"),
                "uri": format!("simulate://{}/{field}", name.trim()),
            })
        });
    }
    Value::Object(obj)
}

/// Materials as written: a list of ids (placeholder files), or a map of id to a file name,
/// to `{name, sha256?, uri?}`, or to nothing (a placeholder file).
pub(crate) fn materials_given(v: Option<&Value>) -> Result<BTreeMap<String, MaterialRef>, String> {
    let mut out = BTreeMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Array(ids)) => {
            for id in ids {
                let id = id
                    .as_str()
                    .ok_or_else(|| format!("materials: `{id}` is not a material id"))?;
                out.insert(id.to_owned(), placeholder(id));
            }
        }
        Some(Value::Object(map)) => {
            for (id, m) in map {
                let file = match m {
                    Value::Null => placeholder(id),
                    Value::String(name) => MaterialRef {
                        name: name.clone(),
                        sha256: String::new(),
                        uri: None,
                    },
                    other => serde_json::from_value(other.clone()).map_err(|e| {
                        format!(
                            "materials.{id}: expected a file name or {{name, sha256, uri}}: {e}"
                        )
                    })?,
                };
                out.insert(id.clone(), file);
            }
        }
        Some(other) => {
            return Err(format!(
                "materials: expected a list of ids or a map of id to file, not {other}"
            ));
        }
    }
    Ok(out)
}

/// The file a simulation uses for a material the script does not describe.
pub(crate) fn placeholder(id: &str) -> MaterialRef {
    MaterialRef {
        name: format!("{id}.pdf"),
        sha256: String::new(),
        uri: None,
    }
}
