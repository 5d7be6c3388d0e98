//! CEL expressions: compiling, and finding every variable path they read so the checker
//! can verify each one against the form, the materials and the tasks.

use std::fmt;
use std::sync::Arc;

use cel::common::ast::{EntryExpr, Expr as Ast, IdedExpr, LiteralValue};

/// A compiled CEL expression, cheap to clone and share between cases.
///
/// Most expressions in bundles are plain paths such as `form.shop_name` or
/// `tasks.licence.output.uscc` (data mapping). Those are recognised without running the
/// CEL parser and evaluated by a direct lookup; everything else is a compiled CEL program.
#[derive(Clone)]
pub struct Expr {
    text: Arc<str>,
    kind: ExprKind,
}

#[derive(Clone)]
enum ExprKind {
    /// `a.b.c`: the segments.
    Path(Arc<[String]>),
    /// Anything else.
    Program(Arc<cel::Program>),
}

/// Is `text` a plain selection path (`a.b.c`, identifiers only)?
fn simple_path(text: &str) -> Option<Vec<String>> {
    let t = text.trim();
    let ident = |s: &str| {
        let mut c = s.chars();
        c.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let segs: Vec<&str> = t.split('.').collect();
    // CEL keywords and literals are not variables.
    const RESERVED: &[&str] = &[
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ];
    if segs.iter().all(|s| ident(s)) && !RESERVED.contains(&segs[0]) {
        Some(segs.into_iter().map(str::to_owned).collect())
    } else {
        None
    }
}

impl Expr {
    /// Compiles `text`.
    pub fn compile(text: &str) -> Result<Expr, ExprError> {
        if let Some(segs) = simple_path(text) {
            return Ok(Expr {
                text: Arc::from(text),
                kind: ExprKind::Path(segs.into()),
            });
        }
        let program = cel::Program::compile(text).map_err(|e| {
            let first = e.errors.first();
            ExprError {
                message: first.map_or_else(|| e.to_string(), |x| x.msg.clone()),
                line: first.map_or(1, |x| x.pos.0.max(1) as usize),
                // cel reports 1-based columns.
                column: first.map_or(0, |x| (x.pos.1.max(1) - 1) as usize),
            }
        })?;
        Ok(Expr {
            text: Arc::from(text),
            kind: ExprKind::Program(Arc::new(program)),
        })
    }

    /// The source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The segments when the expression is a plain path (`form.shop_name`).
    pub fn as_path(&self) -> Option<&[String]> {
        match &self.kind {
            ExprKind::Path(p) => Some(p),
            ExprKind::Program(_) => None,
        }
    }

    /// The compiled CEL program, for expressions that are not plain paths.
    pub fn program(&self) -> Option<&cel::Program> {
        match &self.kind {
            ExprKind::Path(_) => None,
            ExprKind::Program(p) => Some(p),
        }
    }

    /// The variables the expression reads (the first segment of each path).
    pub fn variables(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .paths()
            .into_iter()
            .map(|p| p.segments[0].clone())
            .collect();
        v.dedup();
        v
    }

    /// Every variable path the expression reads, as segments (`["form", "shop_name"]`).
    pub fn read_paths(&self) -> Vec<Vec<String>> {
        self.paths().into_iter().map(|p| p.segments).collect()
    }

    /// Does the expression read task `id` (`tasks.<id>…`)?
    pub fn reads_task(&self, id: &str) -> bool {
        self.paths().iter().any(|p| {
            p.segments.first().is_some_and(|s| s == "tasks")
                && p.segments.get(1).is_some_and(|s| s == id)
        })
    }

    /// Every variable path the expression reads, e.g. `tasks.licence.output.uscc`.
    pub(crate) fn paths(&self) -> Vec<Path> {
        match &self.kind {
            ExprKind::Path(segs) => {
                let mut offsets = Vec::with_capacity(segs.len());
                let lead = self.text.len() - self.text.trim_start().len();
                let mut at = lead;
                for s in segs.iter() {
                    offsets.push(at);
                    at += s.chars().count() + 1;
                }
                vec![Path {
                    segments: segs.to_vec(),
                    offsets,
                }]
            }
            ExprKind::Program(program) => {
                let mut out = Vec::new();
                walk(program.expression(), &mut Vec::new(), &mut out, program);
                out
            }
        }
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
    /// 0-based column (in characters) inside the expression line.
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
    fn plain_paths_skip_the_parser() {
        let e = Expr::compile("tasks.licence.output.uscc").unwrap();
        assert!(e.program().is_none());
        assert_eq!(e.paths()[0].offsets, vec![0, 6, 14, 21]);
        assert!(Expr::compile("true").unwrap().program().is_some());
        assert!(Expr::compile("form.a > 1").unwrap().program().is_some());
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let err = Expr::compile("form.a >").unwrap_err();
        assert!(!err.message.is_empty());
    }
}
