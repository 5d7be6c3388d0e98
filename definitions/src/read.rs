//! The node tree → [`BundleDef`], reporting every structural problem at once.
//!
//! The reader never stops at the first problem: a wrong value is reported and skipped, and
//! reading goes on, so a designer sees the whole list in one run (一次性告知 for designers).

mod bundle;
mod form;
mod guide;
mod task;

use indexmap::IndexMap;

use crate::diagnostic::{Code, Diagnostic, Pos, suggestion};
use crate::duration::Duration;
use crate::model::{Broken, ExprSource, Located, Required};
use crate::yaml::{Key, Node, NodeKind};

pub(crate) use bundle::read_bundle;

/// The kinds of ids, each with its allowed form.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdKind {
    /// Bundle ids: `[a-z0-9-]+`.
    Bundle,
    /// Task, form field, material and output ids: usable in expressions.
    Name,
    /// Department ids: `[a-z][a-z0-9_-]*`.
    Department,
}

impl IdKind {
    fn check(self, s: &str) -> bool {
        let mut chars = s.chars();
        match self {
            IdKind::Bundle => {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            }
            IdKind::Name => {
                chars.next().is_some_and(|c| c.is_ascii_lowercase())
                    && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            }
            IdKind::Department => {
                chars.next().is_some_and(|c| c.is_ascii_lowercase())
                    && chars.all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
                    })
            }
        }
    }

    fn rule(self) -> &'static str {
        match self {
            IdKind::Bundle => "lowercase letters, digits and `-` (e.g. `open-restaurant`)",
            IdKind::Name => {
                "a lowercase letter, then lowercase letters, digits and `_` (e.g. `food_permit`), so expressions can name it"
            }
            IdKind::Department => "a lowercase letter, then lowercase letters, digits, `_` and `-`",
        }
    }
}

/// The entries of a map node, with lookup by key.
pub(crate) struct Fields<'n> {
    entries: Vec<(&'n Key, &'n Node)>,
    pos: Pos,
}

impl<'n> Fields<'n> {
    pub(crate) fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| *v)
    }

    pub(crate) fn entries(&self) -> &[(&'n Key, &'n Node)] {
        &self.entries
    }
}

/// Collects diagnostics while reading.
pub(crate) struct Reader {
    pub(crate) diags: Vec<Diagnostic>,
    /// Names declared with a mistake (already reported): references to them are not
    /// reported again as unknown.
    pub(crate) broken: Broken,
    text_len: usize,
}

impl Reader {
    pub(crate) fn new(text: &str) -> Reader {
        Reader {
            diags: Vec::new(),
            broken: Broken::default(),
            text_len: text.len(),
        }
    }

    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub(crate) fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        self.push(
            Diagnostic::new(
                Code::WrongType,
                node.pos,
                format!("{what} must be {expected}, found {}", node.kind.describe()),
            )
            .with_hint(format!("write {what} as {expected}")),
        );
    }

    /// A map with the DSL's fixed keys: unknown and duplicate keys are reported.
    pub(crate) fn map<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let fields = self.entries(node, what, Code::DuplicateKey)?;
        for (key, _) in &fields.entries {
            if !allowed.contains(&key.name.as_str()) {
                let hint = suggestion(&key.name, allowed.iter().copied());
                let hint = if hint.is_empty() {
                    format!("the keys of {what} are: {}", allowed.join(", "))
                } else {
                    hint
                };
                self.push(
                    Diagnostic::new(
                        Code::UnknownKey,
                        key.pos,
                        format!("unknown key `{}` in {what}", key.name),
                    )
                    .with_hint(hint),
                );
            }
        }
        Some(fields)
    }

    /// A map with free keys (ids): duplicates are reported with `dup_code`; the first wins.
    pub(crate) fn entries<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        dup_code: Code,
    ) -> Option<Fields<'n>> {
        let NodeKind::Map(entries) = &node.kind else {
            if node.kind != NodeKind::Null {
                self.wrong_type(node, what, "a map (`key: value` lines)");
            }
            return if node.kind == NodeKind::Null {
                Some(Fields {
                    entries: Vec::new(),
                    pos: node.pos,
                })
            } else {
                None
            };
        };
        let mut out: Vec<(&Key, &Node)> = Vec::with_capacity(entries.len());
        let mut seen: std::collections::HashMap<&str, Pos> =
            std::collections::HashMap::with_capacity(entries.len());
        for (k, v) in entries {
            if let Some(first) = seen.get(k.name.as_str()) {
                self.push(
                    Diagnostic::new(
                        dup_code,
                        k.pos,
                        format!(
                            "`{}` appears twice in {what} (first at line {})",
                            k.name, first.line
                        ),
                    )
                    .with_hint("remove one of them or rename it; a key may appear once"),
                );
                continue;
            }
            seen.insert(&k.name, k.pos);
            out.push((k, v));
        }
        Some(Fields {
            entries: out,
            pos: node.pos,
        })
    }

    pub(crate) fn require<'n>(
        &mut self,
        f: &Fields<'n>,
        key: &str,
        what: &str,
        hint: &str,
    ) -> Option<&'n Node> {
        let v = f.get(key);
        if v.is_none() {
            self.push(
                Diagnostic::new(Code::MissingKey, f.pos, format!("{what} has no `{key}`"))
                    .with_hint(hint.to_owned()),
            );
        }
        v
    }

    pub(crate) fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Str(s) => Some(s.clone()),
            // Numbers are fine where text is expected (item codes, titles like 2026).
            NodeKind::Int(i) => Some(i.to_string()),
            NodeKind::Float(f) => Some(f.to_string()),
            _ => {
                self.wrong_type(node, what, "text");
                None
            }
        }
    }

    pub(crate) fn located_string(&mut self, node: &Node, what: &str) -> Option<Located<String>> {
        self.string(node, what).map(|value| Located {
            value,
            pos: node.pos,
        })
    }

    pub(crate) fn uint(&mut self, node: &Node, what: &str) -> Option<u32> {
        match node.kind {
            NodeKind::Int(i) if i >= 0 && i <= i64::from(u32::MAX) => Some(i as u32),
            NodeKind::Int(_) => {
                self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        node.pos,
                        format!("{what} is out of range"),
                    )
                    .with_hint("use a whole number from 0 to 4294967295"),
                );
                None
            }
            _ => {
                self.wrong_type(node, what, "a whole number");
                None
            }
        }
    }

    pub(crate) fn number(&mut self, node: &Node, what: &str) -> Option<f64> {
        match node.kind {
            NodeKind::Int(i) => Some(i as f64),
            NodeKind::Float(f) => Some(f),
            _ => {
                self.wrong_type(node, what, "a number");
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.kind {
            NodeKind::Bool(b) => Some(b),
            _ => {
                self.wrong_type(node, what, "`true` or `false`");
                None
            }
        }
    }

    /// One of a fixed set of words.
    pub(crate) fn choice<T: Copy>(
        &mut self,
        node: &Node,
        what: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let s = self.string(node, what)?;
        if let Some((_, v)) = options.iter().find(|(name, _)| *name == s) {
            return Some(*v);
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let mut hint = format!("use one of: {}", names.join(", "));
        let s2 = suggestion(&s, names.iter().copied());
        if !s2.is_empty() {
            hint = format!("{s2} ({hint})");
        }
        self.push(
            Diagnostic::new(
                Code::InvalidValue,
                node.pos,
                format!("`{s}` is not a valid {what}"),
            )
            .with_hint(hint),
        );
        None
    }

    pub(crate) fn duration(&mut self, node: &Node, what: &str) -> Option<Located<Duration>> {
        let s = match &node.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Int(i) => i.to_string(),
            _ => {
                self.wrong_type(node, what, "a duration such as `5wd`");
                return None;
            }
        };
        match s.parse::<Duration>() {
            Ok(d) => Some(Located {
                value: d,
                pos: node.pos,
            }),
            Err(e) => {
                self.push(
                    Diagnostic::new(Code::BadDuration, node.pos, format!("{what}: {e}")).with_hint(
                        "write a whole number and a unit: `5wd` (working days), `20d` (calendar days), `2h`, `30m`, `10s`",
                    ),
                );
                None
            }
        }
    }

    /// An expression: text, or a boolean/number literal (`when: true`).
    pub(crate) fn expr(&mut self, node: &Node, text: &str, what: &str) -> Option<ExprSource> {
        let value = match &node.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Bool(b) => b.to_string(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => f.to_string(),
            _ => {
                self.wrong_type(node, what, "an expression (CEL text)");
                return None;
            }
        };
        Some(locate_expr(text, node.pos, value, self.text_len))
    }

    /// `true`, `false`, or an expression.
    pub(crate) fn required(&mut self, node: &Node, text: &str, what: &str) -> Required {
        match &node.kind {
            NodeKind::Bool(true) => Required::Yes,
            NodeKind::Bool(false) => Required::No,
            NodeKind::Str(_) => self
                .expr(node, text, what)
                .map_or(Required::No, Required::When),
            _ => {
                self.wrong_type(node, what, "`true`, `false` or an expression");
                Required::No
            }
        }
    }

    pub(crate) fn check_id(&mut self, name: &str, pos: Pos, what: &str, kind: IdKind) -> bool {
        if kind.check(name) {
            return true;
        }
        self.push(
            Diagnostic::new(
                Code::InvalidId,
                pos,
                format!("`{name}` is not a valid {what}"),
            )
            .with_hint(format!("an id is {}", kind.rule())),
        );
        false
    }

    /// A list of names; a single name is accepted as a list of one.
    pub(crate) fn name_list(&mut self, node: &Node, what: &str) -> Vec<Located<String>> {
        match &node.kind {
            NodeKind::Seq(items) => items
                .iter()
                .filter_map(|n| self.located_string(n, what))
                .collect(),
            NodeKind::Str(s) => vec![Located {
                value: s.clone(),
                pos: node.pos,
            }],
            NodeKind::Null => Vec::new(),
            _ => {
                self.wrong_type(node, what, "a list of ids such as `[licence, tax]`");
                Vec::new()
            }
        }
    }

    /// A map of name → expression.
    pub(crate) fn expr_map(
        &mut self,
        node: &Node,
        text: &str,
        what: &str,
    ) -> IndexMap<String, ExprSource> {
        let mut out = IndexMap::new();
        let Some(fields) = self.entries(node, what, Code::DuplicateKey) else {
            return out;
        };
        for (k, v) in fields.entries() {
            if let Some(e) = self.expr(v, text, &format!("{what}.{}", k.name)) {
                out.insert(k.name.clone(), e);
            }
        }
        out
    }
}

/// Finds where the expression text starts in the file, so findings inside it point exactly.
fn locate_expr(text: &str, pos: Pos, value: String, text_len: usize) -> ExprSource {
    let at = pos.offset.min(text_len);
    let rest = &text[at..];
    let (offset, exact) = if rest.starts_with(value.as_str()) {
        (at, true)
    } else if (rest.starts_with('"') || rest.starts_with('\''))
        && rest[1..].starts_with(value.as_str())
    {
        (at + 1, true)
    } else {
        (at, false)
    };
    let col_shift = if offset > at { 1 } else { 0 };
    ExprSource {
        pos: Pos {
            offset,
            len: if exact { value.len() } else { pos.len },
            line: pos.line,
            column: pos.column + col_shift,
        },
        text: value,
        exact,
    }
}
