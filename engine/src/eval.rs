//! Evaluating a blueprint's CEL expressions against a case.
//!
//! Only the variables an expression names are built, so a rule that reads `form` alone
//! does not pay for converting every task's output.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use yijian_definitions::Expr;

use crate::case::CaseState;

/// A variable bound in a `for_each` task: the `as` name and the element.
pub(crate) type Element<'a> = Option<(&'a str, &'a Value)>;

/// Evaluates `expr` to a CEL value.
pub(crate) fn eval(
    expr: &Expr,
    state: &CaseState,
    element: Element<'_>,
) -> Result<cel::Value, String> {
    let mut cx = cel::Context::default();
    let refs = expr.program().references();
    let mut bind = |name: &str, value: Value| -> Result<(), String> {
        let v = cel::to_value(&value)
            .map_err(|e| format!("cannot use `{name}` in an expression: {e}"))?;
        cx.add_variable_from_value(name.to_owned(), v);
        Ok(())
    };
    if let Some((name, value)) = element
        && refs.has_variable(name)
    {
        bind(name, value.clone())?;
    }
    if refs.has_variable("form") {
        bind("form", Value::Object((*state.form).clone()))?;
    }
    if refs.has_variable("materials") {
        let m: Map<String, Value> = state
            .materials
            .iter()
            .map(|(k, v)| (k.clone(), json!({"provided": v.provided})))
            .collect();
        bind("materials", Value::Object(m))?;
    }
    if refs.has_variable("tasks") {
        bind("tasks", tasks_value(state))?;
    }
    if refs.has_variable("case") {
        bind(
            "case",
            json!({
                "no": state.case_no.as_str(),
                "accepted_at": state.accepted_at.map(|t| t.to_string()),
                "region": &*state.region,
            }),
        )?;
    }
    expr.program().execute(&cx).map_err(|e| e.to_string())
}

fn tasks_value(state: &CaseState) -> Value {
    let bp = &state.blueprint;
    let mut out = Map::with_capacity(bp.tasks.len());
    for (spec, t) in bp.tasks.iter().zip(&state.tasks) {
        let unit = |u: &crate::case::Unit| {
            json!({
                "status": u.status.as_str(),
                "output": u.output.as_deref().cloned().unwrap_or(Value::Object(Map::new())),
            })
        };
        let v = match &t.instances {
            Some(list) => Value::Array(list.iter().map(unit).collect()),
            None => unit(&t.unit),
        };
        out.insert(spec.id.clone(), v);
    }
    Value::Object(out)
}

/// Evaluates to JSON.
pub(crate) fn eval_json(
    expr: &Expr,
    state: &CaseState,
    element: Element<'_>,
) -> Result<Value, String> {
    let v = eval(expr, state, element)?;
    v.json()
        .map_err(|e| format!("the result cannot be passed on: {e}"))
}

/// Evaluates a condition; anything but a boolean is an error.
pub(crate) fn eval_bool(
    expr: &Expr,
    state: &CaseState,
    element: Element<'_>,
) -> Result<bool, String> {
    match eval(expr, state, element)? {
        cel::Value::Bool(b) => Ok(b),
        other => Err(format!(
            "`{}` gave {other:?}, not true or false",
            expr.text()
        )),
    }
}

/// Evaluates a list (for `for_each`).
pub(crate) fn eval_list(expr: &Expr, state: &CaseState) -> Result<Arc<Vec<Value>>, String> {
    match eval_json(expr, state, None)? {
        Value::Array(items) => Ok(Arc::new(items)),
        Value::Null => Ok(Arc::new(Vec::new())),
        other => Err(format!(
            "`for_each: {}` gave {other}, not a list",
            expr.text()
        )),
    }
}
