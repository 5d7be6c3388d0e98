//! Findings of `yijian check`: a stable code, a severity, a place and a hint.

use std::fmt;

use serde::Serialize;

/// How bad a finding is. Errors stop a deploy; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// The bundle is accepted, but a designer should look.
    Warning,
    /// The bundle cannot be compiled or deployed.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A place in the source text: byte offset and length, and the 1-based line and column
/// (column counted in characters) of its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize)]
pub struct Pos {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes (0 for a point).
    pub len: usize,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl Pos {
    /// The position of byte `offset` (length `len`) in `source`, with line and column computed.
    pub fn at(source: &str, offset: usize, len: usize) -> Pos {
        let offset = offset.min(source.len());
        let mut start = offset;
        while start > 0 && !source.is_char_boundary(start) {
            start -= 1;
        }
        let before = &source[..start];
        let line = before.bytes().filter(|b| *b == b'\n').count() as u32 + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() as u32 + 1;
        Pos {
            offset: start,
            len: len.min(source.len() - start),
            line,
            column,
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $name:literal, $sev:ident; )*) => {
        /// The stable code of a finding. Each is documented in `docs/errors/<CODE>.md`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable code, e.g. `YJ102`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A short kebab-case name, e.g. `unknown-key`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity findings with this code have.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }
        }
    };
}

codes! {
    /// The text is not valid YAML.
    YamlSyntax = "YJ001", "yaml-syntax", Error;
    /// The file is larger than the input budget.
    TooLarge = "YJ002", "too-large", Error;
    /// The YAML exceeds a structural budget: nesting depth, node count or alias expansion (a YAML bomb).
    YamlBudget = "YJ003", "yaml-budget", Error;
    /// The bytes are not UTF-8.
    NotUtf8 = "YJ004", "not-utf8", Error;
    /// The file starts with a byte-order mark; it was ignored.
    ByteOrderMark = "YJ005", "byte-order-mark", Warning;
    /// The file holds no bundle.
    EmptyDocument = "YJ006", "empty-document", Error;
    /// More than one YAML document in one file.
    MultipleDocuments = "YJ007", "multiple-documents", Error;
    /// A value has the wrong type (a list where a map belongs, text where a number belongs…).
    WrongType = "YJ101", "wrong-type", Error;
    /// A key the DSL does not know.
    UnknownKey = "YJ102", "unknown-key", Error;
    /// A required key is missing.
    MissingKey = "YJ103", "missing-key", Error;
    /// A key appears twice in the same map.
    DuplicateKey = "YJ104", "duplicate-key", Error;
    /// An id does not have the allowed form.
    InvalidId = "YJ105", "invalid-id", Error;
    /// The `yijian` version is not one this build understands.
    UnsupportedVersion = "YJ106", "unsupported-version", Error;
    /// A value is not one of the allowed values, or out of range.
    InvalidValue = "YJ107", "invalid-value", Error;
    /// A duration is not of the form `Nwd`, `Nd`, `Nh`, `Nm` or `Ns`.
    BadDuration = "YJ108", "bad-duration", Error;
    /// The `calendar` is not one this deployment knows.
    UnknownCalendar = "YJ109", "unknown-calendar", Error;
    /// A key that only makes sense with another key or mode.
    MisplacedKey = "YJ110", "misplaced-key", Error;
    /// `after` names a task that does not exist.
    UnknownTask = "YJ201", "unknown-task", Error;
    /// Tasks depend on each other in a circle.
    Cycle = "YJ202", "cycle", Error;
    /// Two tasks have the same id.
    DuplicateTask = "YJ203", "duplicate-task", Error;
    /// A task's `materials` names a material that is not declared.
    UnknownMaterial = "YJ204", "unknown-material", Error;
    /// A material with `source: task.x` where task x does not declare it as a `licence` output.
    UndeclaredLicence = "YJ205", "undeclared-licence", Error;
    /// A task with no time limit at all (neither its own nor the bundle's).
    NoTimeLimit = "YJ206", "no-time-limit", Error;
    /// `rule` on a task that is not `mode: auto`.
    RuleWithoutAuto = "YJ207", "rule-without-auto", Error;
    /// `mode: auto` without a `rule`.
    AutoWithoutRule = "YJ208", "auto-without-rule", Error;
    /// A bundle with no tasks.
    NoTasks = "YJ209", "no-tasks", Error;
    /// An expression that does not parse as CEL.
    ExpressionSyntax = "YJ301", "expression-syntax", Error;
    /// An expression names a variable, form field, material or task that does not exist.
    UnknownReference = "YJ302", "unknown-reference", Error;
    /// An expression reads an output field the task does not declare.
    UndeclaredOutput = "YJ303", "undeclared-output", Error;
    /// An expression reads a task that is not upstream of it: its data might not exist yet.
    NotUpstream = "YJ304", "not-upstream", Error;
    /// A `when` that can never be true: the task would always be skipped.
    ConstantWhen = "YJ305", "constant-when", Warning;
    /// The longest chain of task time limits exceeds the bundle's time limit.
    CriticalPath = "YJ401", "critical-path", Warning;
    /// A deferrable material's allowance exceeds the time limit of a task that uses it.
    DeferralTooLong = "YJ402", "deferral-too-long", Error;
    /// A promised time limit longer than the statutory one.
    LimitOverStatutory = "YJ403", "limit-over-statutory", Warning;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One finding: what is wrong, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// Where in the source.
    #[serde(flatten)]
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A finding with the code's own severity.
    pub fn new(code: Code, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            pos,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Is this an error (as opposed to a warning)?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} {}: {}",
            self.pos.line, self.pos.column, self.severity, self.code, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len().max(word.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Adds ", did you mean `x`?" to a hint where a close candidate exists.
pub(crate) fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match did_you_mean(word, candidates) {
        Some(c) => format!("did you mean `{c}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pos_counts_characters_not_bytes() {
        let src = "a: 1\n名称: x\n";
        let off = src.find('x').unwrap();
        let p = Pos::at(src, off, 1);
        assert_eq!((p.line, p.column), (2, 5));
    }

    #[test]
    fn did_you_mean_finds_typos_only() {
        assert_eq!(
            did_you_mean("deparment", ["department", "after"]),
            Some("department")
        );
        assert_eq!(did_you_mean("zzz", ["department", "after"]), None);
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
        }
    }
}
