//! The run as JSON (the contract of `docs/simulate.md`) and as a readable table.
//!
//! Instants are printed in Beijing time (`2026-09-24T23:59:59+08:00`); task references
//! are printed by name (`licence`, `partner_check[1]`, `fire_check.verify`, `rectify[0]`).

use std::fmt::Write as _;
use std::sync::Arc;

use crate::definitions::Blueprint;
use crate::engine::ids::Part;
use crate::engine::{CaseView, Event, TaskRef};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::drive::{Entry, Run};
use super::script::beijing;

/// An instant as `2026-09-24T23:59:59+08:00`.
pub(crate) fn instant(t: Timestamp) -> String {
    t.to_zoned_datetime(beijing())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn opt(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(instant(t)))
}

/// Detail keys that hold instants (printed in Beijing time like the rest).
const INSTANT_KEYS: &[&str] = &[
    "due",
    "statutory_due",
    "warn_at",
    "respond_by",
    "retry_at",
    "expected",
];

/// The whole run as the JSON document of the contract.
pub(crate) fn json(run: &Run, notes: &[String]) -> Value {
    let mut doc = Map::new();
    doc.insert("case".into(), run.case.as_ref().map_or(Value::Null, case));
    let events = run.timeline.iter().filter_map(|e| match e {
        Entry::Event(ev) => Some(ev),
        _ => None,
    });
    let rectifications = super::drive::rectifications(events);
    doc.insert(
        "tasks".into(),
        tasks(&run.blueprint, run.case.as_ref(), &rectifications),
    );
    // Each entry names tasks in the version in force when it happened (`migrate` steps).
    let mut bp = run.first.clone();
    let timeline: Vec<Value> = run
        .timeline
        .iter()
        .map(|e| {
            let v = entry(&bp, e);
            if let Entry::Event(ev) = e
                && let crate::engine::EventKind::CaseMigrated { change, .. } = &ev.kind
                && let Some(next) = &change.blueprint
            {
                bp = next.0.clone();
            }
            v
        })
        .collect();
    doc.insert("timeline".into(), Value::Array(timeline));
    if !notes.is_empty() {
        doc.insert("notes".into(), json!(notes));
    }
    Value::Object(doc)
}

fn case(v: &CaseView) -> Value {
    json!({
        "case_no": v.case_no.as_str(),
        "bundle": v.bundle,
        "version": v.version,
        "status": v.status,
        "outcome": v.outcome,
        "accepted_at": opt(v.accepted_at),
        "due": opt(v.due),
        "statutory_due": opt(v.statutory_due),
        "warning": v.warning.as_str(),
        "closed_at": opt(v.closed_at),
        "documents": v.documents,
    })
}

fn tasks(bp: &Blueprint, v: Option<&CaseView>, rectifications: &[Arc<str>]) -> Value {
    let mut out = Map::new();
    for t in v.map(|v| v.tasks.as_slice()).unwrap_or_default() {
        let mut m = Map::new();
        m.insert("status".into(), json!(t.status.as_str()));
        let department = match TaskRef::parse(bp, &t.name) {
            Some(r) if r.part == Part::Rectification => rectifications
                .get(r.task.index())
                .map_or(t.department.as_str(), |d| &**d),
            _ => t.department.as_str(),
        };
        m.insert("department".into(), json!(department));
        m.insert("due".into(), opt(t.due));
        if t.statutory_due.is_some() {
            m.insert("statutory_due".into(), opt(t.statutory_due));
        }
        m.insert("warning".into(), json!(t.warning.as_str()));
        m.insert("attempts".into(), json!(t.attempts));
        if let Some(r) = &t.reason {
            m.insert("reason".into(), json!(r));
        }
        if let Some(r) = &t.region {
            m.insert("region".into(), json!(r));
        }
        if t.send_backs > 0 {
            m.insert("send_backs".into(), json!(t.send_backs));
        }
        out.insert(t.name.clone(), Value::Object(m));
    }
    Value::Object(out)
}

/// One timeline entry: `{at, event, task?, due?, detail}`.
fn entry(bp: &Blueprint, e: &Entry) -> Value {
    match e {
        Entry::Event(ev) => event(bp, ev),
        Entry::Unchanged {
            at,
            step,
            line,
            reason,
        } => json!({
            "at": instant(*at),
            "event": "unchanged",
            "detail": {"step": step, "line": line, "reason": reason},
        }),
        Entry::Rejected {
            at,
            step,
            task,
            line,
            reason,
            code,
        } => {
            let mut m = Map::new();
            m.insert("at".into(), json!(instant(*at)));
            m.insert("event".into(), json!("rejected"));
            if let Some(t) = task {
                m.insert("task".into(), json!(t));
            }
            let mut detail = Map::new();
            detail.insert("step".into(), json!(step));
            detail.insert("line".into(), json!(line));
            if let Some(c) = code {
                detail.insert("code".into(), json!(c));
            }
            detail.insert("reason".into(), json!(reason));
            m.insert("detail".into(), Value::Object(detail));
            Value::Object(m)
        }
    }
}

fn event(bp: &Blueprint, ev: &Event) -> Value {
    let mut detail = match serde_json::to_value(ev) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for k in ["at", "event", "task"] {
        detail.remove(k);
    }
    let due = detail.remove("due");
    detail.insert("actor".into(), json!(ev.actor.to_string()));
    for k in ["upstream", "refused", "by"] {
        if let Some(name) = detail
            .get(k)
            .and_then(|v| serde_json::from_value::<TaskRef>(v.clone()).ok())
            .map(|r| r.name(bp))
        {
            detail.insert(k.into(), json!(name));
        }
    }
    if let Some(s) = detail.remove("submission") {
        let ids: Vec<&String> = s
            .get("materials")
            .and_then(Value::as_object)
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        detail.insert("materials".into(), json!(ids));
        for k in ["commitments", "unavailable", "region"] {
            if let Some(v) = s.get(k) {
                detail.insert(k.into(), v.clone());
            }
        }
    }
    for k in INSTANT_KEYS {
        if let Some(v) = detail.get_mut(*k) {
            *v = rezone(v);
        }
    }
    if let Some(Value::Array(pairs)) = detail.remove("deferred_due") {
        let mut m = Map::new();
        for p in pairs {
            if let (Some(id), Some(t)) = (p.get(0).and_then(Value::as_str), p.get(1)) {
                m.insert(id.to_owned(), rezone(t));
            }
        }
        detail.insert("deferred_due".into(), Value::Object(m));
    }
    let mut m = Map::new();
    m.insert("at".into(), json!(instant(ev.at)));
    m.insert("event".into(), json!(ev.kind.name()));
    if let Some(r) = ev.kind.task() {
        m.insert("task".into(), json!(r.name(bp)));
    }
    if let Some(d) = due.filter(|d| !d.is_null()) {
        m.insert("due".into(), rezone(&d));
    }
    m.insert("detail".into(), Value::Object(detail));
    Value::Object(m)
}

/// An instant serialised by the engine (UTC) printed in Beijing time.
fn rezone(v: &Value) -> Value {
    match v.as_str().and_then(|s| s.parse::<Timestamp>().ok()) {
        Some(t) => json!(instant(t)),
        None => v.clone(),
    }
}

/// The run as a readable table, from its JSON document.
pub(crate) fn table(run: &Run, doc: &Value, title: Option<&str>) -> String {
    let mut out = String::new();
    let bp = &run.blueprint;
    if let Some(t) = title {
        let _ = writeln!(out, "Scenario: {t}");
    }
    let _ = writeln!(out, "Bundle:   {} ({} v{})", bp.title, bp.id, bp.version);
    let _ = writeln!(
        out,
        "Times are Beijing time; a due date ends at 24:00 of that day.\n"
    );
    let mut rows = vec![vec![
        "WHEN".to_owned(),
        "EVENT".to_owned(),
        "TASK".to_owned(),
        "DUE".to_owned(),
        "DETAIL".to_owned(),
    ]];
    for e in doc["timeline"].as_array().into_iter().flatten() {
        let rejected = e["event"] == "rejected";
        let event = if rejected {
            format!("REJECTED {}", e["detail"]["step"].as_str().unwrap_or(""))
        } else {
            e["event"].as_str().unwrap_or("").to_owned()
        };
        rows.push(vec![
            when(&e["at"]),
            event,
            e["task"].as_str().unwrap_or("").to_owned(),
            day(&e["due"]),
            summary(&e["detail"]),
        ]);
    }
    let _ = writeln!(out, "TIMELINE");
    write_rows(&mut out, &rows);
    let _ = writeln!(out);
    match doc["case"].as_object() {
        None => {
            let _ = writeln!(out, "CASE     none (no submission was accepted)");
        }
        Some(c) => {
            let _ = writeln!(
                out,
                "CASE     {}  status {}",
                c["case_no"].as_str().unwrap_or(""),
                c["status"].as_str().unwrap_or("")
            );
            let _ = writeln!(
                out,
                "         accepted {}  due {}  statutory {}  warning {}  closed {}",
                when(&c["accepted_at"]),
                day(&c["due"]),
                day(&c["statutory_due"]),
                c["warning"].as_str().unwrap_or(""),
                when(&c["closed_at"])
            );
            for (name, v) in c["documents"].as_object().into_iter().flatten() {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                let _ = writeln!(out, "         {name}: {v}");
            }
        }
    }
    let mut rows = vec![
        [
            "TASK",
            "TITLE",
            "DEPARTMENT",
            "STATUS",
            "DUE",
            "WARNING",
            "ATTEMPTS",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    let view = run.case.as_ref();
    for (name, t) in doc["tasks"].as_object().into_iter().flatten() {
        let title = if name.starts_with("rectify[") {
            "好差评整改".to_owned()
        } else {
            view.and_then(|v| v.task(name))
                .map(|t| t.title.clone())
                .unwrap_or_default()
        };
        rows.push(vec![
            name.clone(),
            title,
            t["department"].as_str().unwrap_or("").to_owned(),
            t["status"].as_str().unwrap_or("").to_owned(),
            day(&t["due"]),
            t["warning"].as_str().unwrap_or("").to_owned(),
            t["attempts"].to_string(),
        ]);
    }
    let _ = writeln!(out, "\nTASKS");
    write_rows(&mut out, &rows);
    for n in doc["notes"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "\nnote: {}", n.as_str().unwrap_or(""));
    }
    out
}

/// `2026-09-18 Fri 09:00:00` from an instant string.
fn when(v: &Value) -> String {
    match v.as_str().and_then(|s| s.parse::<Timestamp>().ok()) {
        Some(t) => t
            .to_zoned_datetime(beijing())
            .strftime("%Y-%m-%d %a %H:%M:%S")
            .to_string(),
        None => "-".to_owned(),
    }
}

/// `2026-09-24 Thu` from a due instant (the end of that day).
fn day(v: &Value) -> String {
    match v.as_str().and_then(|s| s.parse::<Timestamp>().ok()) {
        Some(t) => t
            .to_zoned_datetime(beijing())
            .strftime("%Y-%m-%d %a")
            .to_string(),
        None => String::new(),
    }
}

/// A one-line summary of an entry's detail: the reason first, then the other facts.
fn summary(detail: &Value) -> String {
    const SKIP: &[&str] = &[
        "actor", "input", "items", "warn_at", "step", "line", "reason", "code", "level",
    ];
    let Some(d) = detail.as_object() else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some(r) = d.get("reason").and_then(Value::as_str) {
        parts.push(r.to_owned());
    }
    for (k, v) in d {
        if SKIP.contains(&k.as_str()) || is_empty(v) {
            continue;
        }
        let text = match v {
            Value::String(s) if s.parse::<Timestamp>().is_ok() => when(v),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        parts.push(format!("{k}: {text}"));
    }
    match d.get("actor").and_then(Value::as_str) {
        Some(actor) if actor != "engine" && !parts.is_empty() => {
            format!("{}  [{actor}]", parts.join("; "))
        }
        _ => parts.join("; "),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Display width: CJK and full-width characters take two columns.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF => 2,
            0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

fn write_rows(out: &mut String, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| width(c))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::from("  ");
        for (i, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(widths[i].saturating_sub(width(cell)) + 2));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
