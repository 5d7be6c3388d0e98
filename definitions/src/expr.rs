//! CEL expressions: compiling, and finding every variable path they read so the checker
//! can verify each one against the form, the materials and the tasks.

use std::fmt;
use std::sync::Arc;

use cel::common::ast::{EntryExpr, Expr as Ast, IdedExpr, LiteralValue};

/// A compiled CEL expression, cheap to clone and share between cases.
#[derive(Clone)]
pub struct Expr {
    text: Arc<str>,
    program: Arc<cel::Program>,
}

impl Expr {
    /// Compiles `text`.
    pub fn compile(text: &str) -> Result<Expr, ExprError> {
        let program = cel::Program::compile(text).map_err(|e| {
            let first = e.errors.first();
            ExprError {
                message: first.map_or_else(|| e.to_string(), |x| x.msg.clone()),
                line: first.map_or(1, |x| x.pos.0.max(1) as usize),
                column: first.map_or(0, |x| x.pos.1.max(0) as usize),
            }
        })?;
        Ok(Expr {
            text: Arc::from(text),
            program: Arc::new(program),
        })
    }

    /// The source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The compiled program.
    pub fn program(&self) -> &cel::Program {
        &self.program
    }

    /// Every variable path the expression reads, e.g. `tasks.licence.output.uscc`.
    pub(crate) fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        walk(
            self.program.expression(),
            &mut Vec::new(),
            &mut out,
            &self.program,
        );
        out
    }
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expr").field(&self.text).finish()
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// Why an expression did not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    /// The parser's message.
    pub message: String,
    /// 1-based line inside the expression.
    pub line: usize,
    /// 0-based column inside the expression line.
    pub column: usize,
}

/// A chain of field selections starting at a variable: `form.floor_area`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    /// The names, the variable first.
    pub(crate) segments: Vec<String>,
    /// Character offsets inside the expression text where each segment starts.
    pub(crate) offsets: Vec<usize>,
}

fn offset_of(program: &cel::Program, id: u64) -> usize {
    program
        .source_info()
        .offset_for(id)
        .map_or(0, |(s, _)| s as usize)
}

fn walk(e: &IdedExpr, bound: &mut Vec<String>, out: &mut Vec<Path>, program: &cel::Program) {
    match &e.expr {
        Ast::Ident(_) | Ast::Select(_) => {
            if let Some(path) = chain(e, program) {
                if !bound.contains(&path.segments[0]) {
                    out.push(path);
                }
                return;
            }
            if let Ast::Select(s) = &e.expr {
                walk(&s.operand, bound, out, program);
            }
        }
        Ast::Call(call) => {
            // `a.b["c"]` reads field c just like `a.b.c`.
            if call.func_name == "_[_]"
                && call.args.len() == 2
                && let Ast::Literal(LiteralValue::String(key)) = &call.args[1].expr
                && let Some(mut path) = chain(&call.args[0], program)
            {
                if !bound.contains(&path.segments[0]) {
                    path.segments.push(key.to_string());
                    path.offsets.push(offset_of(program, call.args[1].id) + 1);
                    out.push(path);
                }
                return;
            }
            if let Some(t) = &call.target {
                walk(t, bound, out, program);
            }
            for a in &call.args {
                walk(a, bound, out, program);
            }
        }
        Ast::Comprehension(c) => {
            walk(&c.iter_range, bound, out, program);
            walk(&c.accu_init, bound, out, program);
            bound.push(c.iter_var.clone());
            bound.push(c.accu_var.clone());
            walk(&c.loop_cond, bound, out, program);
            walk(&c.loop_step, bound, out, program);
            walk(&c.result, bound, out, program);
            bound.truncate(bound.len() - 2);
        }
        Ast::List(l) => {
            for el in &l.elements {
                walk(el, bound, out, program);
            }
        }
        Ast::Map(m) => entries(&m.entries, bound, out, program),
        Ast::Struct(s) => entries(&s.entries, bound, out, program),
        Ast::Literal(_) | Ast::Unspecified => {}
    }
}

fn entries(
    es: &[cel::common::ast::IdedEntryExpr],
    bound: &mut Vec<String>,
    out: &mut Vec<Path>,
    program: &cel::Program,
) {
    for entry in es {
        match &entry.expr {
            EntryExpr::StructField(f) => walk(&f.value, bound, out, program),
            EntryExpr::MapEntry(m) => {
                walk(&m.key, bound, out, program);
                walk(&m.value, bound, out, program);
            }
        }
    }
}

/// `a.b.c` as a path, when the expression is a pure chain of selections on a variable.
fn chain(e: &IdedExpr, program: &cel::Program) -> Option<Path> {
    let mut segments = Vec::new();
    let mut offsets = Vec::new();
    let mut cur = e;
    loop {
        match &cur.expr {
            Ast::Ident(name) => {
                segments.push(name.clone());
                offsets.push(offset_of(program, cur.id));
                break;
            }
            Ast::Select(s) => {
                segments.push(s.field.clone());
                // The select node sits on the dot; the field name starts right after it.
                offsets.push(offset_of(program, cur.id) + 1);
                cur = &s.operand;
            }
            _ => return None,
        }
    }
    segments.reverse();
    offsets.reverse();
    Some(Path { segments, offsets })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<String> {
        Expr::compile(text)
            .unwrap()
            .paths()
            .iter()
            .map(|p| p.segments.join("."))
            .collect()
    }

    #[test]
    fn finds_paths_and_skips_bound_variables() {
        assert_eq!(
            paths("form.floor_area > 300 || form.investment > 300000"),
            ["form.floor_area", "form.investment"]
        );
        assert_eq!(paths("size(partner.id_no) == 18"), ["partner.id_no"]);
        assert_eq!(
            paths("form.partners.all(p, size(p.name) > 0)"),
            ["form.partners"]
        );
        assert_eq!(
            paths("tasks.licence.output[\"uscc\"]"),
            ["tasks.licence.output.uscc"]
        );
    }

    #[test]
    fn offsets_point_at_each_segment() {
        let e = Expr::compile("1 + tasks.licence.output.uscc").unwrap();
        let p = &e.paths()[0];
        assert_eq!(p.offsets, vec![4, 10, 18, 25]);
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let err = Expr::compile("form.a >").unwrap_err();
        assert!(!err.message.is_empty());
    }
}
