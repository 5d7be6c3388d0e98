//! YAML text → a tree of nodes that each know where they were written.
//!
//! serde-saphyr does the YAML work (panic-free, with budgets against YAML bombs);
//! its `Spanned<T>` gives every key and value its place. The DSL reader then walks this
//! tree itself, so it can report *every* problem at once instead of stopping at the first
//! one as a derived `Deserialize` would.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, DuplicateKeyPolicy, Spanned};

use crate::diagnostic::{Code, Diagnostic, Pos};

/// Input limits for untrusted YAML (bundles arrive over HTTP too).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted text, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of maps and lists.
    pub max_depth: usize,
    /// Most nodes (scalars, maps, lists) in one file.
    pub max_nodes: usize,
    /// Most alias uses (`*name`) in one file.
    pub max_aliases: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 32,
            max_nodes: 400_000,
            max_aliases: 1_000,
        }
    }
}

/// A YAML node and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    pub(crate) pos: Pos,
}

/// A map key and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) pos: Pos,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// In source order, duplicates kept (the reader reports them).
    Map(Vec<(Key, Node)>),
}

impl NodeKind {
    /// How a designer would name this kind of value in a message.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            NodeKind::Null => "nothing (null)",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "text",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a map",
        }
    }
}

/// Parses `text` into a node tree, or the diagnostics that explain why not.
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<Node, Vec<Diagnostic>> {
    if text.len() > limits.max_bytes {
        return Err(vec![
            Diagnostic::new(
                Code::TooLarge,
                Pos::at(text, 0, 0),
                format!(
                    "the file is {} bytes; a bundle may be at most {} bytes",
                    text.len(),
                    limits.max_bytes
                ),
            )
            .with_hint("split the bundle, or move long descriptions out of it"),
        ]);
    }
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(vec![empty(text)]);
    }
    let mut budget = Budget::default();
    budget.max_reader_input_bytes = Some(limits.max_bytes);
    budget.max_depth = limits.max_depth;
    budget.max_nodes = limits.max_nodes;
    budget.max_aliases = limits.max_aliases;
    budget.max_anchors = limits.max_aliases;
    budget.max_documents = 2;
    let mut options = serde_saphyr::options! {
        budget: Some(budget),
        duplicate_keys: DuplicateKeyPolicy::PassThrough,

        strict_booleans: true,
        with_snippet: false,
    };
    // Bundles need few aliases: a YAML bomb is refused long before it expands.
    options.alias_limits.max_total_replayed_events = limits.max_aliases.saturating_mul(20);
    options.alias_limits.max_alias_expansions_per_anchor = limits.max_aliases;
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(text, options) {
        Ok(spanned) => {
            let pos = pos_of(text, &spanned.referenced);
            let node = spanned.value.into_node(text, pos);
            if node.kind == NodeKind::Null {
                return Err(vec![empty(text)]);
            }
            Ok(node)
        }
        Err(err) => Err(vec![yaml_error(text, &err)]),
    }
}

fn empty(text: &str) -> Diagnostic {
    Diagnostic::new(
        Code::EmptyDocument,
        Pos::at(text, 0, 0),
        "the file holds no bundle",
    )
    .with_hint("a bundle starts with `yijian: 1`, then `id`, `version`, `title` and `tasks`")
}

fn yaml_error(text: &str, err: &serde_saphyr::Error) -> Diagnostic {
    let pos = err
        .location()
        .map_or_else(|| Pos::at(text, 0, 0), |l| pos_of(text, &l));
    let message = strip_location(err.without_snippet().to_string().trim());
    if let serde_saphyr::Error::Budget { breach, .. } = err {
        return Diagnostic::new(
            Code::YamlBudget,
            pos,
            format!("the YAML is too big or too deep: {}", budget_text(breach)),
        )
        .with_hint(
            "bundles need no deep nesting and few aliases; expand anchors by hand or simplify",
        );
    }
    if let serde_saphyr::Error::MultipleDocuments { .. } = err {
        return Diagnostic::new(
            Code::MultipleDocuments,
            pos,
            "the file holds more than one YAML document",
        )
        .with_hint("write one bundle per file; remove the `---` separator");
    }
    let lower = message.to_lowercase();
    if lower.contains("budget")
        || lower.contains("recursion limit")
        || lower.contains("alias") && lower.contains("limit")
    {
        return Diagnostic::new(
            Code::YamlBudget,
            pos,
            format!(
                "the YAML is too big or too deep: {}",
                match lower.find("budget breached:") {
                    Some(k) => budget_kind_text(&message[k + "budget breached:".len()..]),
                    None => message.clone(),
                }
            ),
        )
        .with_hint(
            "bundles need no deep nesting and few aliases; expand anchors by hand or simplify",
        );
    }
    if lower.contains("tab") {
        // The scanner reports where it was when it met the tab: the tab is on that line, or
        // (after a plain scalar) at the start of a following line.
        let off = pos.offset.min(text.len());
        let line_start = text[..off].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[off..].find('\n').map_or(text.len(), |i| off + i);
        let tab = text[line_start..line_end]
            .find('\t')
            .map(|i| line_start + i)
            .or_else(|| text[off..].find('\t').map(|i| off + i));
        let at = tab.map_or(pos, |off| Pos::at(text, off, 1));
        return Diagnostic::new(Code::YamlSyntax, at, format!("invalid YAML: {message}"))
            .with_hint("YAML indents with spaces only: replace the tab with spaces");
    }
    let hint = if line_has_tab(text, pos.line) {
        "YAML indents with spaces only: replace the tab on this line with spaces"
    } else {
        "check the indentation, colons and quotes on this line and the line before"
    };
    Diagnostic::new(Code::YamlSyntax, pos, format!("invalid YAML: {message}")).with_hint(hint)
}

/// The parser's message without its own "at line L, column C": the finding has its place.
fn strip_location(message: &str) -> String {
    let lower = message.to_lowercase();
    match lower.rfind(" at line ") {
        Some(i) if lower[i..].contains("column") => message[..i].trim_end().to_owned(),
        _ => message.to_owned(),
    }
}

/// A budget breach in words.
fn budget_text(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    budget_kind_text(&format!("{breach:?}"))
}

/// `Nodes { nodes: 400001 }` (a breach as serde-saphyr prints it) in words.
fn budget_kind_text(debug: &str) -> String {
    let kind = debug
        .trim()
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default();
    let what = match kind {
        "Events" => "too many YAML events",
        "Aliases" => "too many aliases (`*name`)",
        "Anchors" => "too many anchors (`&name`)",
        "Depth" => "nesting too deep",
        "Documents" => "too many documents",
        "Nodes" => "too many nodes (alias expansion counts each copy)",
        "ScalarBytes" => "too much text in values",
        "CommentBytes" => "too much text in comments",
        _ => "an input limit was exceeded",
    };
    what.to_owned()
}

fn line_has_tab(text: &str, line: u32) -> bool {
    let idx = line.saturating_sub(1) as usize;
    let lines: Vec<&str> = text.lines().collect();
    [idx.saturating_sub(1), idx]
        .iter()
        .filter_map(|i| lines.get(*i))
        .any(|l| l.contains('\t'))
}

fn pos_of(text: &str, loc: &serde_saphyr::Location) -> Pos {
    let span = loc.span();
    match (span.byte_offset(), span.byte_len()) {
        // serde-saphyr already counts lines and columns: no rescanning of the text, which
        // would make large files quadratic.
        (Some(off), Some(len)) if loc.line() > 0 => Pos {
            offset: (off as usize).min(text.len()),
            len: len as usize,
            line: loc.line() as u32,
            column: loc.column().max(1) as u32,
        },
        (Some(off), Some(len)) => Pos::at(text, off as usize, len as usize),
        _ => {
            let line = loc.line().max(1) as usize;
            let start = text
                .split_inclusive('\n')
                .take(line - 1)
                .map(str::len)
                .sum::<usize>();
            let col = loc.column().max(1) as usize - 1;
            let off = text[start.min(text.len())..]
                .char_indices()
                .nth(col)
                .map_or(text.len(), |(i, _)| start + i);
            Pos::at(text, off, 0)
        }
    }
}

/// What serde-saphyr fills in; positions are attached as `Spanned` around it.
struct Raw(RawKind);

enum RawKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<RawKey>, Spanned<Raw>)>),
}

struct RawKey(String);

impl Raw {
    fn into_node(self, text: &str, pos: Pos) -> Node {
        Node {
            kind: self.0.into_kind(text),
            pos,
        }
    }
}

impl RawKind {
    fn into_kind(self, text: &str) -> NodeKind {
        match self {
            RawKind::Null => NodeKind::Null,
            RawKind::Bool(b) => NodeKind::Bool(b),
            RawKind::Int(i) => NodeKind::Int(i),
            RawKind::Float(f) => NodeKind::Float(f),
            RawKind::Str(s) => NodeKind::Str(s),
            RawKind::Seq(items) => NodeKind::Seq(
                items
                    .into_iter()
                    .map(|s| {
                        let pos = pos_of(text, &s.referenced);
                        s.value.into_node(text, pos)
                    })
                    .collect(),
            ),
            RawKind::Map(entries) => NodeKind::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let key = Key {
                            name: k.value.0,
                            pos: pos_of(text, &k.referenced),
                        };
                        let pos = pos_of(text, &v.referenced);
                        (key, v.value.into_node(text, pos))
                    })
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor).map(Raw)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawKind, E> {
        Ok(RawKind::Null)
    }
    fn visit_none<E>(self) -> Result<RawKind, E> {
        Ok(RawKind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawKind, D::Error> {
        d.deserialize_any(RawVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawKind, E> {
        Ok(RawKind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawKind, E> {
        Ok(RawKind::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawKind, E> {
        i64::try_from(v)
            .map(RawKind::Int)
            .or_else(|_| Ok(RawKind::Float(v as f64)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawKind, E> {
        i64::try_from(v)
            .map(RawKind::Int)
            .or_else(|_| Ok(RawKind::Float(v as f64)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawKind, E> {
        i64::try_from(v)
            .map(RawKind::Int)
            .or_else(|_| Ok(RawKind::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawKind, E> {
        Ok(RawKind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawKind, E> {
        Ok(RawKind::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawKind, E> {
        Ok(RawKind::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawKind, E> {
        Err(E::invalid_type(de::Unexpected::Bytes(v), &self))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(RawKind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawKind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<RawKey>>()? {
            let value = map.next_value::<Spanned<Raw>>()?;
            entries.push((key, value));
        }
        Ok(RawKind::Map(entries))
    }
}

impl<'de> Deserialize<'de> for RawKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = RawKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key (text or a number)")
            }
            fn visit_str<E>(self, v: &str) -> Result<RawKey, E> {
                Ok(RawKey(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<RawKey, E> {
                Ok(RawKey(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<RawKey, E> {
                Ok(RawKey("null".to_owned()))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}
