//! Camunda's typed variables (`{name: {type, value, valueInfo}}`) to and from yijian's JSON:
//! a task's input goes out typed; a completion's variables come back converted by the
//! task's declared output types (the engine then validates them as for `/v1`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use yijian_definitions::OutputType;

use super::CamundaError;

/// A variable as Camunda clients send it; `type` may be left out (the Python client does):
/// the JSON value is then taken as it is.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VariableIn {
    #[serde(default)]
    value: Value,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    value_info: Option<Value>,
}

/// A variable as Camunda answers it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VariableOut {
    #[serde(rename = "type")]
    kind: &'static str,
    value: Value,
    value_info: Map<String, Value>,
}

/// A JSON value as a typed variable: text `String`, whole numbers `Integer` (or `Long`
/// beyond 32 bits), other numbers `Double`, `Boolean`, `Null`; lists and records `Json`,
/// whose value is their JSON text (as Camunda's Spin `Json` type has it).
pub(crate) fn typed(value: &Value) -> VariableOut {
    let (kind, value) = match value {
        Value::Null => ("Null", Value::Null),
        Value::Bool(_) => ("Boolean", value.clone()),
        Value::String(_) => ("String", value.clone()),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => ("Integer", value.clone()),
            Some(_) => ("Long", value.clone()),
            None => ("Double", value.clone()),
        },
        Value::Array(_) | Value::Object(_) => ("Json", Value::String(value.to_string())),
    };
    VariableOut {
        kind,
        value,
        value_info: Map::new(),
    }
}

/// A date variable in Camunda's format, or `Null`.
pub(crate) fn date(at: Option<jiff::Timestamp>) -> VariableOut {
    match at {
        Some(t) => VariableOut {
            kind: "Date",
            value: Value::String(super::camunda_date(t)),
            value_info: Map::new(),
        },
        None => typed(&Value::Null),
    }
}

/// Converts a completion's variable `name` to JSON, by its Camunda type and the output type
/// the task declares for it.
///
/// # Errors
/// 400 naming the variable when the value does not fit its type, or the type is one yijian
/// does not take (`Bytes`, `File`, serialized Java `Object`s).
pub(crate) fn from_typed(
    name: &str,
    v: &VariableIn,
    declared: Option<&OutputType>,
) -> Result<Value, CamundaError> {
    let bad = |what: &str| {
        CamundaError::invalid(format!(
            "variable `{name}`: {what} (value {})",
            short(&v.value)
        ))
    };
    let Some(kind) = v.kind.as_deref() else {
        return Ok(v.value.clone());
    };
    if v.value.is_null() {
        return Ok(Value::Null);
    }
    match kind.to_ascii_lowercase().as_str() {
        "string" => match &v.value {
            Value::String(_) => Ok(v.value.clone()),
            _ => Err(bad("a String must be text")),
        },
        "integer" | "long" | "short" => {
            let n = match &v.value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| bad(&format!("an {kind} must be a whole number")))?;
            let fits = match kind.to_ascii_lowercase().as_str() {
                "integer" => i32::try_from(n).is_ok(),
                "short" => i16::try_from(n).is_ok(),
                _ => true,
            };
            if !fits {
                return Err(bad(&format!("out of range for {kind}")));
            }
            Ok(Value::from(n))
        }
        "double" => {
            let x = match &v.value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            x.and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| bad("a Double must be a finite number"))
        }
        "boolean" => match &v.value {
            Value::Bool(_) => Ok(v.value.clone()),
            Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            _ => Err(bad("a Boolean must be true or false")),
        },
        "null" => Ok(Value::Null),
        "date" => {
            let Value::String(s) = &v.value else {
                return Err(bad("a Date must be text"));
            };
            date_of(s, declared).ok_or_else(|| {
                bad("a Date is `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (e.g. 2026-12-07T09:30:00.000+0800)")
            })
        }
        "json" => json_of(&v.value).ok_or_else(|| bad("a Json value must be JSON text")),
        "object" => {
            let format = v
                .value_info
                .as_ref()
                .and_then(|i| i.get("serializationDataFormat"))
                .and_then(Value::as_str)
                .unwrap_or("application/json");
            if format != "application/json" {
                return Err(bad(&format!(
                    "Objects serialized as `{format}` are not taken; send Json (or an Object \
                     with serializationDataFormat application/json)"
                )));
            }
            json_of(&v.value).ok_or_else(|| bad("the Object's value must be JSON text"))
        }
        "bytes" | "file" => Err(bad(
            "files are not sent through variables: return an electronic licence as Json \
             `{name, uri, sha256}` pointing at where the file is kept",
        )),
        other => Err(bad(&format!(
            "unknown type `{other}`; use String, Integer, Long, Short, Double, Boolean, Date, \
             Json, Object (application/json) or Null"
        ))),
    }
}

/// A Camunda date as the output wants it: `YYYY-MM-DD` (the date as written, in the
/// sender's own offset) for a declared `date`, else an RFC 3339 instant.
fn date_of(text: &str, declared: Option<&OutputType>) -> Option<Value> {
    let t = text.trim();
    // Camunda's own format (`+0800`), else RFC 3339 (`Z`, `+08:00`).
    let at = jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%.f%z", t)
        .and_then(|p| p.to_timestamp())
        .or_else(|_| t.parse::<jiff::Timestamp>())
        .ok()?;
    if matches!(declared, Some(OutputType::Date)) {
        // The calendar date as written, in the sender's own offset.
        let date: jiff::civil::Date = t.get(..10)?.parse().ok()?;
        return Some(Value::String(date.to_string()));
    }
    Some(Value::String(at.to_string()))
}

/// JSON text parsed, or a list or record taken as it is.
fn json_of(value: &Value) -> Option<Value> {
    match value {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Array(_) | Value::Object(_) => Some(value.clone()),
        _ => None,
    }
}

fn short(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 60 {
        let mut end = 60;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn var(kind: Option<&str>, value: Value) -> VariableIn {
        VariableIn {
            value,
            kind: kind.map(str::to_owned),
            value_info: None,
        }
    }

    #[test]
    fn values_go_out_typed() {
        let k = |v: Value| typed(&v).kind;
        assert_eq!(k(json!("x")), "String");
        assert_eq!(k(json!(7)), "Integer");
        assert_eq!(k(json!(7_000_000_000_i64)), "Long");
        assert_eq!(k(json!(1.5)), "Double");
        assert_eq!(k(json!(true)), "Boolean");
        assert_eq!(k(Value::Null), "Null");
        let j = typed(&json!([{"a": 1}]));
        assert_eq!((j.kind, j.value), ("Json", json!("[{\"a\":1}]")));
    }

    #[test]
    fn typed_values_come_back_as_json() {
        let ok = |kind: &str, value: Value, want: Value| {
            assert_eq!(
                from_typed("v", &var(Some(kind), value), None).expect(kind),
                want
            );
        };
        ok("String", json!("SP3201"), json!("SP3201"));
        ok("Integer", json!(42), json!(42));
        ok("long", json!("42"), json!(42));
        ok("Double", json!(2.5), json!(2.5));
        ok("Boolean", json!("true"), json!(true));
        ok("Json", json!("{\"name\":\"x\"}"), json!({"name": "x"}));
        ok("Json", json!([1, 2]), json!([1, 2]));
        ok("Null", json!("ignored"), Value::Null);
        ok(
            "Date",
            json!("2026-12-07T09:30:00.000+0800"),
            json!("2026-12-07T01:30:00Z"),
        );
        ok(
            "Date",
            json!("2026-12-07T09:30:00+08:00"),
            json!("2026-12-07T01:30:00Z"),
        );
        ok(
            "Date",
            json!("2026-12-07T01:30:00Z"),
            json!("2026-12-07T01:30:00Z"),
        );
        assert_eq!(
            from_typed(
                "d",
                &var(Some("Date"), json!("2026-12-07T00:30:00.000+0800")),
                Some(&OutputType::Date)
            )
            .expect("date"),
            json!("2026-12-07"),
            "a declared date keeps the sender's calendar date"
        );
        assert_eq!(
            from_typed("u", &var(None, json!({"a": 1})), None).expect("untyped"),
            json!({"a": 1})
        );
    }

    #[test]
    fn mismatches_name_the_variable() {
        for (kind, value) in [
            ("Integer", json!("x")),
            ("Integer", json!(3_000_000_000_i64)),
            ("String", json!(1)),
            ("Boolean", json!("yes")),
            ("Date", json!("7 December")),
            ("Json", json!("{not json")),
            ("Bytes", json!("AAAA")),
            ("Decimal", json!(1)),
        ] {
            let e = from_typed("permit_no", &var(Some(kind), value), None).expect_err(kind);
            assert!(e.message.contains("`permit_no`"), "{}", e.message);
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        }
    }
}
