//! Pictures of a bundle: Mermaid and Graphviz DOT.
//!
//! Each task shows its title and department; a conditional task (`when`) has a dashed
//! outline and a `?` marker, a fan-out task (`for_each`) is drawn as a stack with `×N`,
//! 告知承诺 tasks are marked `[承诺]` and automatic ones `[自动]`. Licence edges are labelled.

use std::fmt::Write as _;

use crate::blueprint::{Blueprint, TaskMode, TaskSpec};
use crate::graph::EdgeKind;

/// The picture formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GraphFormat {
    /// A Mermaid flowchart.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// Renders the blueprint's task graph.
pub fn render(bp: &Blueprint, format: GraphFormat) -> String {
    match format {
        GraphFormat::Mermaid => mermaid(bp),
        GraphFormat::Dot => dot(bp),
    }
}

fn markers(t: &TaskSpec) -> String {
    let mut m = Vec::new();
    match t.mode {
        TaskMode::Commitment { .. } => m.push("[承诺]"),
        TaskMode::Decide {
            commitment_allowed: true,
            ..
        } => m.push("[可承诺]"),
        TaskMode::Auto { .. } => m.push("[自动]"),
        _ => {}
    }
    if t.when.is_some() {
        m.push("[条件]");
    }
    if t.for_each.is_some() {
        m.push("[×N]");
    }
    m.join(" ")
}

fn label(t: &TaskSpec) -> String {
    let marks = markers(t);
    let mut s = t.title.clone();
    if !marks.is_empty() {
        s.push(' ');
        s.push_str(&marks);
    }
    s
}

/// Mermaid needs `"` escaped inside quoted labels.
fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

fn mermaid(bp: &Blueprint) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "flowchart TD");
    let _ = writeln!(
        out,
        "  %% {} v{}: {}",
        bp.id,
        bp.version,
        mermaid_text(&bp.title)
    );
    let _ = writeln!(out, "  start([受理 intake])");
    for t in &bp.tasks {
        let text = format!(
            "{}<br/><small>{}</small>",
            mermaid_text(&label(t)),
            mermaid_text(&t.department)
        );
        let shape = if t.for_each.is_some() {
            // A double-bordered box for fan-outs.
            format!("{}[[\"{text}\"]]", t.id)
        } else if t.when.is_some() {
            format!("{}{{{{\"{text}\"}}}}", t.id)
        } else {
            format!("{}[\"{text}\"]", t.id)
        };
        let _ = writeln!(out, "  {shape}");
    }
    let _ = writeln!(out, "  done([统一出件 result])");
    for t in &bp.tasks {
        if t.upstream.is_empty() {
            let _ = writeln!(out, "  start --> {}", t.id);
        }
        if t.downstream.is_empty() {
            let _ = writeln!(out, "  {} --> done", t.id);
        }
    }
    for e in bp.graph.edge_indices() {
        let Some((a, b)) = bp.graph.edge_endpoints(e) else {
            continue;
        };
        let (a, b) = (&bp.tasks[a.index()].id, &bp.tasks[b.index()].id);
        match bp.graph[e] {
            EdgeKind::Licence => {
                let _ = writeln!(out, "  {a} -. 证照 .-> {b}");
            }
            _ => {
                let _ = writeln!(out, "  {a} --> {b}");
            }
        }
    }
    let _ = writeln!(out, "  classDef conditional stroke-dasharray: 5 5;");
    let _ = writeln!(out, "  classDef commitment fill:#fff4d6,stroke:#c08a00;");
    let _ = writeln!(out, "  classDef auto fill:#e6f2ff,stroke:#2a6db0;");
    for t in &bp.tasks {
        if t.when.is_some() {
            let _ = writeln!(out, "  class {} conditional;", t.id);
        }
        match t.mode {
            TaskMode::Commitment { .. } => {
                let _ = writeln!(out, "  class {} commitment;", t.id);
            }
            TaskMode::Auto { .. } => {
                let _ = writeln!(out, "  class {} auto;", t.id);
            }
            _ => {}
        }
    }
    out
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(bp: &Blueprint) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_text(&bp.id));
    let _ = writeln!(out, "  label=\"{} v{}\";", dot_text(&bp.title), bp.version);
    let _ = writeln!(out, "  rankdir=TB;");
    let _ = writeln!(out, "  node [shape=box, style=rounded];");
    let _ = writeln!(out, "  start [label=\"受理 intake\", shape=oval];");
    let _ = writeln!(out, "  done [label=\"统一出件 result\", shape=oval];");
    for t in &bp.tasks {
        let mut attrs = vec![format!(
            "label=\"{}\\n{}\"",
            dot_text(&label(t)),
            dot_text(&t.department)
        )];
        let mut style = vec!["rounded"];
        if t.when.is_some() {
            style.push("dashed");
        }
        if t.for_each.is_some() {
            attrs.push("peripheries=2".to_owned());
        }
        match t.mode {
            TaskMode::Commitment { .. } => {
                style.push("filled");
                attrs.push("fillcolor=\"#fff4d6\"".to_owned());
            }
            TaskMode::Auto { .. } => {
                style.push("filled");
                attrs.push("fillcolor=\"#e6f2ff\"".to_owned());
            }
            _ => {}
        }
        attrs.push(format!("style=\"{}\"", style.join(",")));
        let _ = writeln!(out, "  {} [{}];", t.id, attrs.join(", "));
    }
    for t in &bp.tasks {
        if t.upstream.is_empty() {
            let _ = writeln!(out, "  start -> {};", t.id);
        }
        if t.downstream.is_empty() {
            let _ = writeln!(out, "  {} -> done;", t.id);
        }
    }
    for e in bp.graph.edge_indices() {
        let Some((a, b)) = bp.graph.edge_endpoints(e) else {
            continue;
        };
        let (a, b) = (&bp.tasks[a.index()].id, &bp.tasks[b.index()].id);
        match bp.graph[e] {
            EdgeKind::Licence => {
                let _ = writeln!(out, "  {a} -> {b} [style=dotted, label=\"证照\"];");
            }
            _ => {
                let _ = writeln!(out, "  {a} -> {b};");
            }
        }
    }
    let _ = writeln!(out, "}}");
    out
}
