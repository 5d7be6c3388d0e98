//! `yijian check`: text → diagnostics, and a [`Blueprint`] when there is no error.

mod refs;
mod time;

use std::sync::Arc;

use indexmap::IndexMap;

use crate::blueprint::{
    Blueprint, FieldRule, MaterialOrigin, MaterialSpec, TaskIdx, TaskMode, TaskSpec,
};
use crate::diagnostic::{Code, Diagnostic, Pos, Severity, suggestion};
use crate::duration::Duration;
use crate::expr::Expr;
use crate::graph::{EdgeKind, TaskGraph};
use crate::model::{BundleDef, ExprSource, MaterialSource, Mode, Required, Warn};
use crate::read::{Reader, read_bundle};
use crate::yaml::{self, Limits};

/// What a check may assume about the deployment.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Calendar ids the deployment knows.
    pub calendars: Vec<String>,
    /// Input limits for the YAML text.
    pub limits: Limits,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            calendars: vec!["cn".to_owned()],
            limits: Limits::default(),
        }
    }
}

/// The outcome of checking one bundle text.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Every finding, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The compiled bundle, when there is no error.
    pub blueprint: Option<Arc<Blueprint>>,
}

impl Checked {
    /// Are there errors?
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The number of findings with this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Checks raw bytes: non-UTF-8 text and a byte-order mark are reported, then [`check`].
pub fn check_bytes(bytes: &[u8], options: &CheckOptions) -> Checked {
    let (bytes, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            // Safe: the prefix up to valid_up_to is valid UTF-8 by definition.
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            let pos = Pos::at(prefix, prefix.len(), 0);
            return Checked {
                diagnostics: vec![
                    Diagnostic::new(
                        Code::NotUtf8,
                        Pos { len: 1, ..pos },
                        format!("the file is not UTF-8 text (invalid byte at offset {})", e.valid_up_to()),
                    )
                    .with_hint("save the file as UTF-8 (GBK/GB18030 files must be converted, e.g. `iconv -f GB18030 -t UTF-8`)"),
                ],
                blueprint: None,
            };
        }
    };
    let mut checked = check(text, options);
    if bom {
        // Offsets below refer to the text after the mark; the mark itself is 3 bytes.
        for d in &mut checked.diagnostics {
            d.pos.offset += 3;
        }
        checked.diagnostics.insert(
            0,
            Diagnostic::new(
                Code::ByteOrderMark,
                Pos {
                    offset: 0,
                    len: 3,
                    line: 1,
                    column: 1,
                },
                "the file starts with a UTF-8 byte-order mark; it was ignored",
            )
            .with_hint("save the file as UTF-8 without BOM"),
        );
    }
    checked
}

/// Checks a bundle text and compiles it when there is no error.
pub fn check(text: &str, options: &CheckOptions) -> Checked {
    let root = match yaml::parse(text, &options.limits) {
        Ok(root) => root,
        Err(diagnostics) => {
            return Checked {
                diagnostics,
                blueprint: None,
            };
        }
    };
    let mut reader = Reader::new(text);
    let def = read_bundle(&mut reader, &root, text);
    let mut diags = reader.diags;
    let blueprint = def.and_then(|def| analyse(&def, text, options, &mut diags));
    diags.sort_by_key(|d| (d.pos.offset, d.code));
    let blueprint = if diags.iter().any(Diagnostic::is_error) {
        None
    } else {
        blueprint.map(Arc::new)
    };
    Checked {
        diagnostics: diags,
        blueprint,
    }
}

/// Checks and compiles; the blueprint and its warnings, or every finding when there is an error.
pub fn compile(
    text: &str,
    options: &CheckOptions,
) -> Result<(Arc<Blueprint>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let checked = check(text, options);
    match checked.blueprint {
        Some(b) => Ok((b, checked.diagnostics)),
        None => Err(checked.diagnostics),
    }
}

/// Compiles an expression, reporting a syntax error at its place in the file.
pub(crate) fn compile_expr(
    src: &ExprSource,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Expr> {
    match Expr::compile(&src.text) {
        Ok(e) => Some(e),
        Err(err) => {
            let pos = if src.exact {
                let line_start: usize = src
                    .text
                    .split_inclusive('\n')
                    .take(err.line.saturating_sub(1))
                    .map(str::len)
                    .sum();
                let within = src.text[line_start..]
                    .char_indices()
                    .nth(err.column)
                    .map_or(src.text.len(), |(i, _)| line_start + i);
                Pos::at(text, src.pos.offset + within, 1)
            } else {
                src.pos
            };
            diags.push(
                Diagnostic::new(Code::ExpressionSyntax, pos, format!("the expression `{}` does not parse: {}", src.text, err.message))
                    .with_hint("expressions are CEL: e.g. `form.floor_area > 300 && form.has_signboard`; quote text with '…'"),
            );
            None
        }
    }
}

/// Semantic checks over a read bundle; returns the blueprint (the caller drops it on errors).
fn analyse(
    def: &BundleDef,
    text: &str,
    options: &CheckOptions,
    diags: &mut Vec<Diagnostic>,
) -> Option<Blueprint> {
    if !options.calendars.iter().any(|c| c == &def.calendar.value) {
        let known: Vec<&str> = options.calendars.iter().map(String::as_str).collect();
        let s = suggestion(&def.calendar.value, known.iter().copied());
        diags.push(
            Diagnostic::new(
                Code::UnknownCalendar,
                def.calendar.pos,
                format!("unknown calendar `{}`", def.calendar.value),
            )
            .with_hint(
                format!("{s} known calendars: {}", known.join(", "))
                    .trim()
                    .to_owned(),
            ),
        );
    }
    let index: IndexMap<&str, u32> = def
        .tasks
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i as u32))
        .collect();

    // Edges: `after`, and licences produced by other tasks.
    let mut edges = Vec::new();
    for (i, (id, task)) in def.tasks.iter().enumerate() {
        for a in &task.after {
            match index.get(a.value.as_str()) {
                Some(&j) => edges.push((j, i as u32, EdgeKind::After)),
                None if def.broken.tasks.contains(&a.value) => {}
                None => diags.push(
                    Diagnostic::new(
                        Code::UnknownTask,
                        a.pos,
                        format!(
                            "task `{id}` runs after `{}`, which is not a task of this bundle",
                            a.value
                        ),
                    )
                    .with_hint(hint_or(
                        suggestion(&a.value, index.keys().copied()),
                        "check the spelling against the ids under `tasks`",
                    )),
                ),
            }
        }
        for m in &task.materials {
            match def.materials.get(&m.value) {
                None if def.broken.materials.contains(&m.value) => {}
                None => diags.push(
                    Diagnostic::new(Code::UnknownMaterial, m.pos, format!("task `{id}` uses material `{}`, which is not declared under `materials`", m.value))
                        .with_hint(hint_or(suggestion(&m.value, def.materials.keys().map(String::as_str)), "declare it under `materials`, or fix the spelling")),
                ),
                Some(mat) => {
                    if let MaterialSource::Task(src) = &mat.source
                        && let Some(&j) = index.get(src.value.as_str())
                    {
                        edges.push((j, i as u32, EdgeKind::Licence));
                    }
                }
            }
        }
    }
    // Licence sources must exist and declare the licence.
    for (mid, mat) in &def.materials {
        if let MaterialSource::Task(src) = &mat.source {
            match def.tasks.get(&src.value) {
                None if def.broken.tasks.contains(&src.value) => {}
                None => diags.push(
                    Diagnostic::new(Code::UnknownTask, src.pos, format!("material `{mid}` comes from task `{}`, which is not a task of this bundle", src.value))
                        .with_hint(hint_or(suggestion(&src.value, index.keys().copied()), "write `source: task.<task id>`")),
                ),
                Some(t) => match t.output.get(mid) {
                    Some(ty) if ty.value == crate::model::OutputType::Licence => {}
                    _ if def.broken.output(&src.value, mid) => {}
                    _ => diags.push(
                        Diagnostic::new(Code::UndeclaredLicence, src.pos, format!("material `{mid}` comes from task `{}`, but that task does not declare `{mid}: licence` in its `output`", src.value))
                            .with_hint(format!("add `{mid}: licence` to the `output` of task `{}`", src.value)),
                    ),
                },
            }
        }
    }

    let graph = TaskGraph::new(def.tasks.len(), &edges);
    let ids: Vec<&str> = index.keys().copied().collect();
    for cycle in graph.cycles() {
        let names: Vec<&str> = cycle.iter().map(|&i| ids[i as usize]).collect();
        let first = &def.tasks[cycle[0] as usize];
        diags.push(
            Diagnostic::new(Code::Cycle, first.pos, format!("tasks wait for each other in a circle: {}", names.join(" → ")))
                .with_hint("remove one of the `after` entries (or licence materials) on this path so the tasks can start"),
        );
    }

    for (id, task) in &def.tasks {
        if task.time_limit.is_none() && !def.time_limit_written && task.mode.value != Mode::Auto {
            diags.push(
                Diagnostic::new(Code::NoTimeLimit, task.pos, format!("task `{id}` has no time limit, and the bundle has none either"))
                    .with_hint("add `time_limit: 3wd` (its promised limit) to the task, or a `time_limit` to the bundle; no wait may be unbounded"),
            );
        }
    }

    let exprs = refs::check_all(def, text, &graph, &index, diags);
    time::check_limits(def, &graph, diags);

    if !graph.order.is_empty() || def.tasks.is_empty() {
        build(def, &graph, &index, exprs)
    } else {
        None
    }
}

fn hint_or(s: String, fallback: &str) -> String {
    if s.is_empty() { fallback.to_owned() } else { s }
}

/// Builds the blueprint; `exprs` holds every compiled expression by its place in the file.
fn build(
    def: &BundleDef,
    graph: &TaskGraph,
    index: &IndexMap<&str, u32>,
    mut exprs: refs::Compiled,
) -> Option<Blueprint> {
    let mut take = |src: &Option<ExprSource>| -> Option<Option<Expr>> {
        match src {
            None => Some(None),
            Some(s) => exprs.take(s).map(Some),
        }
    };
    let mut tasks = Vec::with_capacity(def.tasks.len());
    for (i, (id, t)) in def.tasks.iter().enumerate() {
        let node = petgraph::graph::NodeIndex::new(i);
        let mut upstream: Vec<TaskIdx> = graph
            .graph
            .neighbors_directed(node, petgraph::Direction::Incoming)
            .map(|n| TaskIdx(n.index() as u32))
            .collect();
        upstream.sort_unstable();
        upstream.dedup();
        let mut downstream: Vec<TaskIdx> = graph
            .graph
            .neighbors_directed(node, petgraph::Direction::Outgoing)
            .map(|n| TaskIdx(n.index() as u32))
            .collect();
        downstream.sort_unstable();
        downstream.dedup();
        let mode = match t.mode.value {
            Mode::Decide => TaskMode::Decide {
                commitment_allowed: t.commitment_allowed,
                verify_within: t.verify_within.as_ref().map(|d| d.value),
            },
            Mode::Commitment => TaskMode::Commitment {
                verify_within: t.verify_within.as_ref().map(|d| d.value),
            },
            Mode::Auto => TaskMode::Auto {
                rule: take(&t.rule)??,
            },
        };
        let mut input = Vec::with_capacity(t.input.len());
        for (name, src) in &t.input {
            input.push((name.clone(), take(&Some(src.clone()))??));
        }
        tasks.push(TaskSpec {
            id: id.clone(),
            idx: TaskIdx(i as u32),
            title: t.title.clone(),
            department: std::sync::Arc::from(t.department.value.as_str()),
            item: t.item.clone(),
            upstream,
            downstream,
            when: take(&t.when)?,
            for_each: take(&t.for_each)?,
            as_var: t
                .as_var
                .as_ref()
                .map_or_else(|| "item".to_owned(), |a| a.value.clone()),
            input,
            materials: t.materials.iter().map(|m| m.value.clone()).collect(),
            output: t.output.iter().map(|(k, v)| (k.clone(), v.value)).collect(),
            time_limit: t.time_limit.as_ref().map(|d| d.value),
            statutory_limit: t.statutory_limit.as_ref().map(|d| d.value),
            warn: t
                .warn
                .as_ref()
                .map_or(Warn::Before(Duration::working_days(1)), |w| w.value),
            mode,
            retry: t.retry.as_ref().map(|r| r.value).unwrap_or_default(),
            send_back: t.send_back.as_ref().map(|r| r.value).unwrap_or_default(),
            guide: t.guide.clone(),
        });
    }
    let mut form = IndexMap::with_capacity(def.form.len());
    for (k, f) in &def.form {
        let required_when = match &f.required {
            Required::When(src) => Some(take(&Some(src.clone()))??),
            _ => None,
        };
        form.insert(
            k.clone(),
            FieldRule {
                field: f.clone(),
                required_when,
            },
        );
    }
    let mut materials = IndexMap::with_capacity(def.materials.len());
    for (k, m) in &def.materials {
        let required_when = match &m.required {
            Required::When(src) => Some(take(&Some(src.clone()))??),
            _ => None,
        };
        let src_idx = match &m.source {
            MaterialSource::Task(t) => index.get(t.value.as_str()).map(|&i| TaskIdx(i)),
            _ => None,
        };
        materials.insert(
            k.clone(),
            MaterialSpec {
                title: m.title.clone(),
                required: m.required == Required::Yes,
                required_when,
                deferrable: m.deferrable.as_ref().map(|d| d.value),
                source: MaterialOrigin::from((&m.source, src_idx)),
                guide: m.guide.clone(),
            },
        );
    }
    let mut documents = Vec::with_capacity(def.result.documents.len());
    for (name, src) in &def.result.documents {
        documents.push((name.clone(), take(&Some(src.clone()))??));
    }
    let offered_when = take(&def.offered_when)?;
    Some(Blueprint {
        id: std::sync::Arc::from(def.id.value.as_str()),
        version: def.version.value,
        title: def.title.clone(),
        description: def.description.clone(),
        calendar: def.calendar.value.clone(),
        time_limit: def.time_limit.as_ref().map(|d| d.value),
        statutory_limit: def.statutory_limit.as_ref().map(|d| d.value),
        form,
        materials,
        tasks,
        order: graph.order.iter().map(|&i| TaskIdx(i)).collect(),
        graph: graph.graph.clone(),
        on_reject: def.result.on_reject,
        on_deferred_overdue: def.result.on_deferred_overdue,
        documents,
        supplement: def.supplement.clone(),
        evaluation: def.evaluation.clone(),
        offered_when,
        proposed_trigger: def.trigger.proposed,
        guide: def.guide.clone(),
    })
}
