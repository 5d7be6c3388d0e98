//! Evaluating a blueprint's expressions against a case.
//!
//! Plain paths (`form.shop_name`, `tasks.licence.output.uscc`) are read directly; other
//! expressions run as CEL with only the variables they name built, so a rule that reads
//! `form` alone does not pay for converting every task's output.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use yijian_definitions::Expr;

use crate::case::{CaseState, Unit};

/// A variable bound in a `for_each` task: the `as` name and the element.
pub(crate) type Element<'a> = Option<(&'a str, &'a Value)>;

/// Evaluates `expr` to a CEL value.
pub(crate) fn eval(
    expr: &Expr,
    state: &CaseState,
    element: Element<'_>,
) -> Result<cel::Value, String> {
    let Some(program) = expr.program() else {
        let v = lookup(expr, state, element)?;
        return cel::to_value(&v).map_err(|e| e.to_string());
    };
    let refs = program.references();
    let mut cx = cel::Context::default();
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
    for root in ["form", "materials", "tasks", "case"] {
        if refs.has_variable(root) {
            bind(root, root_value(root, state))?;
        }
    }
    program.execute(&cx).map_err(|e| e.to_string())
}

/// The whole value of one of the expression roots.
fn root_value(root: &str, state: &CaseState) -> Value {
    match root {
        "form" => Value::Object((*state.form).clone()),
        "materials" => Value::Object(
            state
                .materials
                .iter()
                .map(|(k, v)| (k.clone(), json!({"provided": v.provided})))
                .collect(),
        ),
        "tasks" => tasks_value(state),
        "case" => json!({
            "no": state.case_no.as_str(),
            "accepted_at": state.accepted_at.map(|t| t.to_string()),
            "region": &*state.region,
        }),
        _ => Value::Null,
    }
}

fn unit_value(u: &Unit) -> Value {
    json!({
        "status": u.status.as_str(),
        "output": u.output.as_deref().cloned().unwrap_or(Value::Object(Map::new())),
    })
}

fn tasks_value(state: &CaseState) -> Value {
    let bp = &state.blueprint;
    let mut out = Map::with_capacity(bp.tasks.len());
    for (spec, t) in bp.tasks.iter().zip(&state.tasks) {
        let v = match &t.instances {
            Some(list) => Value::Array(list.iter().map(unit_value).collect()),
            None => unit_value(&t.unit),
        };
        out.insert(spec.id.clone(), v);
    }
    Value::Object(out)
}

/// A plain path read directly, without CEL; the common cases avoid building whole roots.
fn lookup(expr: &Expr, state: &CaseState, element: Element<'_>) -> Result<Value, String> {
    let path = expr.as_path().unwrap_or_default();
    let Some((root, rest)) = path.split_first() else {
        return Err("empty expression".to_owned());
    };
    let no_key = |k: &str| format!("No such key: {k}");
    let (mut cur, rest): (Value, &[String]) = match (root.as_str(), element, rest) {
        (name, Some((var, v)), _) if name == var => (v.clone(), rest),
        ("form", _, [k, more @ ..]) => (state.form.get(k).cloned().ok_or_else(|| no_key(k))?, more),
        ("tasks", _, [k, f, more @ ..]) if f == "output" || f == "status" => {
            let i = state.blueprint.task_idx(k).ok_or_else(|| no_key(k))?;
            let t = &state.tasks[i.index()];
            match &t.instances {
                Some(_) => (tasks_value(state), &path[1..]),
                None if f == "status" => (Value::from(t.unit.status.as_str()), more),
                None => (
                    t.unit
                        .output
                        .as_deref()
                        .cloned()
                        .unwrap_or(Value::Object(Map::new())),
                    more,
                ),
            }
        }
        (r @ ("form" | "materials" | "tasks" | "case"), _, _) => (root_value(r, state), rest),
        (other, _, _) => return Err(format!("Undeclared reference to '{other}'")),
    };
    for k in rest {
        cur = match cur {
            Value::Object(mut m) => m.remove(k.as_str()).ok_or_else(|| no_key(k))?,
            _ => return Err(no_key(k)),
        };
    }
    Ok(cur)
}

/// Evaluates to JSON.
pub(crate) fn eval_json(
    expr: &Expr,
    state: &CaseState,
    element: Element<'_>,
) -> Result<Value, String> {
    if expr.program().is_none() {
        return lookup(expr, state, element);
    }
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
