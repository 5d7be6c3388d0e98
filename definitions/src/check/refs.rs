//! Every expression is compiled and every variable path it reads is checked against the
//! form, the materials, the declared outputs and the task's upstream set.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::compile_expr;
use crate::diagnostic::{Code, Diagnostic, Pos, suggestion};
use crate::expr::{Expr, Path};
use crate::graph::TaskGraph;
use crate::keys;
use crate::model::{BundleDef, ExprSource, FieldType, FormField, Required};

/// Compiled expressions by their place in the file.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    by_place: HashMap<(usize, String), Expr>,
}

impl Compiled {
    pub(crate) fn take(&mut self, src: &ExprSource) -> Option<Expr> {
        self.by_place
            .get(&(src.pos.offset, src.text.clone()))
            .cloned()
    }
}

/// Where an expression is evaluated, which decides what it may read.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// At intake, before any task: the form and the case only.
    Intake(&'a str),
    /// Inside a task: upstream tasks only; the `as` variable when `element` is set.
    Task {
        idx: u32,
        element: Option<(&'a str, Option<&'a IndexMap<String, FormField>>)>,
    },
    /// Merging the result: every task.
    Result,
}

struct Ctx<'a> {
    def: &'a BundleDef,
    text: &'a str,
    graph: &'a TaskGraph,
    index: &'a IndexMap<&'a str, u32>,
    diags: &'a mut Vec<Diagnostic>,
    compiled: Compiled,
    /// Compiled expressions by text: designers repeat `form.x` a lot.
    cache: HashMap<String, Expr>,
}

pub(crate) fn check_all(
    def: &BundleDef,
    text: &str,
    graph: &TaskGraph,
    index: &IndexMap<&str, u32>,
    diags: &mut Vec<Diagnostic>,
) -> Compiled {
    let mut cx = Ctx {
        def,
        text,
        graph,
        index,
        diags,
        compiled: Compiled::default(),
        cache: HashMap::new(),
    };
    if let Some(e) = &def.offered_when {
        cx.expr(e, Scope::Intake("`offered_when` is evaluated at intake"));
    }
    for field in def.form.values() {
        cx.field_rules(field);
    }
    for m in def.materials.values() {
        if let Required::When(e) = &m.required {
            cx.expr(
                e,
                Scope::Intake("a material's `required` is evaluated at intake"),
            );
        }
    }
    for (i, task) in def.tasks.values().enumerate() {
        let i = i as u32;
        if let Some(e) = &task.when
            && let Some(x) = cx.expr(
                e,
                Scope::Task {
                    idx: i,
                    element: None,
                },
            )
            && x.paths().is_empty()
            && is_constant_false(&x)
        {
            cx.diags.push(
                Diagnostic::new(
                    Code::ConstantWhen,
                    e.pos,
                    format!(
                        "`when: {}` is never true: the task is always skipped",
                        e.text
                    ),
                )
                .with_hint("remove the task, or make `when` depend on the form"),
            );
        }
        let mut items = None;
        if let Some(e) = &task.for_each
            && let Some(x) = cx.expr(
                e,
                Scope::Task {
                    idx: i,
                    element: None,
                },
            )
        {
            items = cx.list_items(&x, e);
        }
        let as_var = task.as_var.as_ref().map_or("item", |a| a.value.as_str());
        let element = task.for_each.as_ref().map(|_| (as_var, items));
        for e in task.input.values() {
            cx.expr(e, Scope::Task { idx: i, element });
        }
        if let Some(e) = &task.rule {
            cx.expr(e, Scope::Task { idx: i, element });
        }
    }
    for e in def.result.documents.values() {
        cx.expr(e, Scope::Result);
    }
    cx.compiled
}

fn is_constant_false(x: &Expr) -> bool {
    matches!(
        x.program().map(|p| p.execute(&cel::Context::default())),
        Some(Ok(cel::Value::Bool(false)))
    )
}

impl<'a> Ctx<'a> {
    fn field_rules(&mut self, field: &'a FormField) {
        if let Required::When(e) = &field.required {
            self.expr(
                e,
                Scope::Intake("a field's `required` is evaluated at intake"),
            );
        }
        for sub in field.fields.values() {
            self.field_rules(sub);
        }
    }

    fn expr(&mut self, src: &ExprSource, scope: Scope<'a>) -> Option<Expr> {
        let x = match self.cache.get(&src.text) {
            Some(x) => x.clone(),
            None => {
                let x = compile_expr(src, self.text, self.diags)?;
                self.cache.insert(src.text.clone(), x.clone());
                x
            }
        };
        for path in x.paths() {
            self.path(src, &path, scope);
        }
        self.compiled
            .by_place
            .insert((src.pos.offset, src.text.clone()), x.clone());
        Some(x)
    }

    /// The sub-fields of the elements when `for_each` reads a form list.
    fn list_items(
        &mut self,
        x: &Expr,
        src: &ExprSource,
    ) -> Option<&'a IndexMap<String, FormField>> {
        let paths = x.paths();
        let [path] = paths.as_slice() else {
            return None;
        };
        if path.segments.len() != 2 || path.segments[0] != "form" {
            return None;
        }
        let field = self.def.form.get(&path.segments[1])?;
        if field.ty != FieldType::List {
            self.diags.push(
                Diagnostic::new(
                    Code::WrongType,
                    self.place(src, path, 1),
                    format!(
                        "`for_each: {}` must be a list, but form field `{}` is not `type: list`",
                        src.text, path.segments[1]
                    ),
                )
                .with_hint("point `for_each` at a form field of `type: list`"),
            );
            return None;
        }
        Some(&field.fields)
    }

    /// Where segment `seg` of `path` is in the file.
    fn place(&self, src: &ExprSource, path: &Path, seg: usize) -> Pos {
        if !src.exact {
            return src.pos;
        }
        let chars = path.offsets.get(seg).copied().unwrap_or(0);
        let byte = src
            .text
            .char_indices()
            .nth(chars)
            .map_or(src.text.len(), |(b, _)| b);
        let len = path.segments.get(seg).map_or(1, String::len);
        Pos::at(self.text, src.pos.offset + byte, len)
    }

    fn unknown(
        &mut self,
        src: &ExprSource,
        path: &Path,
        seg: usize,
        what: String,
        candidates: Vec<&str>,
        fallback: &str,
    ) {
        let s = suggestion(&path.segments[seg], candidates.iter().copied());
        let hint = if s.is_empty() { fallback.to_owned() } else { s };
        self.diags.push(
            Diagnostic::new(
                Code::UnknownReference,
                self.place(src, path, seg),
                format!(
                    "`{}` in `{}`: {what}",
                    path.segments[..=seg].join("."),
                    src.text
                ),
            )
            .with_hint(hint),
        );
    }

    fn path(&mut self, src: &ExprSource, path: &Path, scope: Scope<'a>) {
        let def = self.def;
        let seg = &path.segments;
        if let Scope::Intake(why) = scope
            && matches!(seg[0].as_str(), "materials" | "case")
        {
            self.diags.push(
                Diagnostic::new(
                    Code::NotUpstream,
                    self.place(src, path, 0),
                    format!(
                        "`{}` reads `{}`, but {why}, where only the form is known",
                        src.text, seg[0]
                    ),
                )
                .with_hint("decide from `form` fields here"),
            );
            return;
        }
        match seg[0].as_str() {
            "form" => {
                let Some(name) = seg.get(1) else { return };
                match def.form.get(name) {
                    None if def.broken.form.contains(name) => {}
                    None => self.unknown(
                        src,
                        path,
                        1,
                        "no such form field".into(),
                        def.form.keys().map(String::as_str).collect(),
                        "declare the field under `form`",
                    ),
                    Some(f) => self.sub_field(src, path, 2, f),
                }
            }
            "materials" => {
                let Some(name) = seg.get(1) else { return };
                if def.broken.materials.contains(name) {
                } else if !def.materials.contains_key(name) {
                    self.unknown(
                        src,
                        path,
                        1,
                        "no such material".into(),
                        def.materials.keys().map(String::as_str).collect(),
                        "declare it under `materials`",
                    );
                } else if let Some(field) = seg.get(2)
                    && !keys::MATERIAL_FIELDS.contains(&field.as_str())
                {
                    self.unknown(
                        src,
                        path,
                        2,
                        "a material has only `provided` here".into(),
                        keys::MATERIAL_FIELDS.to_vec(),
                        "write `materials.<id>.provided`",
                    );
                }
            }
            "case" => {
                if let Some(field) = seg.get(1)
                    && !keys::CASE_FIELDS.contains(&field.as_str())
                {
                    self.unknown(
                        src,
                        path,
                        1,
                        "no such case field".into(),
                        keys::CASE_FIELDS.to_vec(),
                        "the case fields are `no`, `accepted_at` and `region`",
                    );
                }
            }
            "tasks" => self.task_path(src, path, scope),
            other => {
                if let Scope::Task {
                    element: Some((var, items)),
                    ..
                } = scope
                    && other == var
                {
                    if let (Some(items), Some(name)) = (items, seg.get(1))
                        && !items.is_empty()
                        && !items.contains_key(name)
                    {
                        self.unknown(
                            src,
                            path,
                            1,
                            "the list's elements have no such field".into(),
                            items.keys().map(String::as_str).collect(),
                            "see the list field's `items`",
                        );
                    }
                    return;
                }
                let mut roots: Vec<&str> = keys::EXPRESSION_ROOTS.to_vec();
                if let Scope::Task {
                    element: Some((var, _)),
                    ..
                } = scope
                {
                    roots.push(var);
                }
                let fallback = format!("expressions can read {}", roots.join(", "));
                self.unknown(
                    src,
                    path,
                    0,
                    "unknown variable".into(),
                    roots.clone(),
                    &fallback,
                );
            }
        }
    }

    fn sub_field(&mut self, src: &ExprSource, path: &Path, at: usize, field: &FormField) {
        let Some(name) = path.segments.get(at) else {
            return;
        };
        if field.ty == FieldType::Object && !field.fields.is_empty() {
            match field.fields.get(name) {
                None => self.unknown(
                    src,
                    path,
                    at,
                    "the object has no such field".into(),
                    field.fields.keys().map(String::as_str).collect(),
                    "see the object field's `fields`",
                ),
                Some(f) => self.sub_field(src, path, at + 1, f),
            }
        }
    }

    fn task_path(&mut self, src: &ExprSource, path: &Path, scope: Scope<'a>) {
        let def = self.def;
        let seg = &path.segments;
        let Some(name) = seg.get(1) else {
            if let Scope::Task { .. } | Scope::Intake(_) = scope {
                self.diags.push(
                    Diagnostic::new(
                        Code::NotUpstream,
                        self.place(src, path, 0),
                        format!(
                            "`{}` reads every task, but only upstream tasks are settled here",
                            src.text
                        ),
                    )
                    .with_hint("read named upstream tasks, e.g. `tasks.licence.output.uscc`"),
                );
            }
            return;
        };
        let Some(&t) = self.index.get(name.as_str()) else {
            if def.broken.tasks.contains(name) {
                return;
            }
            self.unknown(
                src,
                path,
                1,
                "no such task".into(),
                self.index.keys().copied().collect(),
                "check the ids under `tasks`",
            );
            return;
        };
        match scope {
            Scope::Intake(why) => {
                self.diags.push(
                    Diagnostic::new(
                        Code::NotUpstream,
                        self.place(src, path, 1),
                        format!(
                            "`{}` reads task `{name}`, but {why}, before any task runs",
                            src.text
                        ),
                    )
                    .with_hint("decide from the form here; task results exist only later"),
                );
                return;
            }
            // With a cycle there is no order to judge by; the cycle itself is reported.
            Scope::Task { idx, .. }
                if !self.graph.order.is_empty() && !self.graph.is_upstream(t, idx) =>
            {
                let here = self.index.get_index(idx as usize).map_or("?", |(k, _)| *k);
                self.diags.push(
                    Diagnostic::new(Code::NotUpstream, self.place(src, path, 1), format!("task `{here}` reads task `{name}`, which is not upstream of it: its data might not exist yet"))
                        .with_hint(format!("add `{name}` to the `after` list of task `{here}`")),
                );
                return;
            }
            _ => {}
        }
        let task = &def.tasks[t as usize];
        let Some(field) = seg.get(2) else { return };
        if task.for_each.is_some() {
            self.diags.push(
                Diagnostic::new(
                    Code::UnknownReference,
                    self.place(src, path, 2),
                    format!("task `{name}` runs once per element, so `tasks.{name}` is a list"),
                )
                .with_hint(format!(
                    "use a list macro, e.g. `tasks.{name}.all(t, t.status == 'approved')`"
                )),
            );
            return;
        }
        if !keys::TASK_FIELDS.contains(&field.as_str()) {
            self.unknown(
                src,
                path,
                2,
                "a task has `status` and `output`".into(),
                keys::TASK_FIELDS.to_vec(),
                "write `tasks.<id>.output.<field>` or `tasks.<id>.status`",
            );
            return;
        }
        if field == "output"
            && let Some(out) = seg.get(3)
            && !task.output.contains_key(out)
            && !def.broken.output(name, out)
        {
            let s = suggestion(out, task.output.keys().map(String::as_str));
            let declared: Vec<&str> = task.output.keys().map(String::as_str).collect();
            self.diags.push(
                Diagnostic::new(
                    Code::UndeclaredOutput,
                    self.place(src, path, 3),
                    format!("task `{name}` does not declare output `{out}`"),
                )
                .with_hint(if s.is_empty() {
                    format!(
                        "declare it in the task's `output` (declared: {})",
                        if declared.is_empty() {
                            "none".to_owned()
                        } else {
                            declared.join(", ")
                        }
                    )
                } else {
                    s
                }),
            );
        }
    }
}
