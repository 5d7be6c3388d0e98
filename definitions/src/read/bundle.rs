//! The top level of a bundle, and `result`, `supplement`, `evaluation`, `trigger`.

use indexmap::IndexMap;

use super::{IdKind, Reader};
use crate::diagnostic::{Code, Diagnostic};
use crate::keys;
use crate::model::{
    BundleDef, EvaluationDef, Located, OnDeferredOverdue, OnReject, PauseScope, ResultDef,
    SupplementDef, TriggerDef,
};
use crate::yaml::{Node, NodeKind};

/// Reads a whole bundle. Returns `None` only when the top level is not a map at all;
/// otherwise a bundle with whatever could be read (diagnostics say what could not).
pub(crate) fn read_bundle(r: &mut Reader, root: &Node, text: &str) -> Option<BundleDef> {
    if !matches!(root.kind, NodeKind::Map(_)) {
        r.wrong_type(root, "a bundle", "a map starting with `yijian: 1`");
        return None;
    }
    let f = r.map(root, "the bundle", keys::BUNDLE)?;

    if let Some(v) = r.require(
        &f,
        "yijian",
        "the bundle",
        "add `yijian: 1` (the DSL version) as the first line",
    ) {
        match v.kind {
            NodeKind::Int(1) => {}
            NodeKind::Int(n) => r.push(
                Diagnostic::new(
                    Code::UnsupportedVersion,
                    v.pos,
                    format!("DSL version {n} is not supported"),
                )
                .with_hint("this build reads `yijian: 1`"),
            ),
            _ => r.wrong_type(v, "`yijian`", "the number 1"),
        }
    }
    let id = r
        .require(
            &f,
            "id",
            "the bundle",
            "add `id: my-bundle` (lowercase letters, digits and `-`)",
        )
        .and_then(|v| r.located_string(v, "`id`"))
        .filter(|id| r.check_id(&id.value, id.pos, "bundle id", IdKind::Bundle))
        .unwrap_or(Located {
            value: String::new(),
            pos: root.pos,
        });
    let version = r
        .require(
            &f,
            "version",
            "the bundle",
            "add `version: 1`; raise it for every change you deploy",
        )
        .and_then(|v| {
            r.uint(v, "`version`").map(|n| Located {
                value: n,
                pos: v.pos,
            })
        })
        .unwrap_or(Located {
            value: 0,
            pos: root.pos,
        });
    let title = r
        .require(
            &f,
            "title",
            "the bundle",
            "add `title:` with the name applicants see, e.g. 开办餐饮店一件事",
        )
        .and_then(|v| r.string(v, "`title`"))
        .unwrap_or_default();
    let description = f
        .get("description")
        .and_then(|v| r.string(v, "`description`"));
    let calendar = f
        .get("calendar")
        .and_then(|v| r.located_string(v, "`calendar`"))
        .unwrap_or(Located {
            value: "cn".to_owned(),
            pos: root.pos,
        });
    let time_limit_written = f.get("time_limit").is_some();
    let time_limit = f
        .get("time_limit")
        .and_then(|v| r.duration(v, "`time_limit`"));
    let statutory_limit = f
        .get("statutory_limit")
        .and_then(|v| r.duration(v, "`statutory_limit`"));
    let form = f
        .get("form")
        .map(|v| super::form::read_fields(r, v, text, "`form`"))
        .unwrap_or_default();
    let materials = f
        .get("materials")
        .map(|v| super::form::read_materials(r, v, text))
        .unwrap_or_default();
    let tasks = match r.require(
        &f,
        "tasks",
        "the bundle",
        "add `tasks:` with at least one department task",
    ) {
        Some(v) => super::task::read_tasks(r, v, text),
        None => IndexMap::new(),
    };
    // A `tasks` that is not a map was already reported as the wrong type.
    if let Some(node) = f.get("tasks")
        && tasks.is_empty()
        && matches!(node.kind, NodeKind::Map(_) | NodeKind::Null)
    {
        r.push(
            Diagnostic::new(Code::NoTasks, node.pos, "the bundle has no tasks")
                .with_hint("add at least one task with a `department`"),
        );
    }
    let result = f
        .get("result")
        .map(|v| read_result(r, v, text))
        .unwrap_or_default();
    let supplement = f
        .get("supplement")
        .map(|v| read_supplement(r, v))
        .unwrap_or_default();
    let evaluation = f
        .get("evaluation")
        .map(|v| read_evaluation(r, v))
        .unwrap_or_default();
    let offered_when = f
        .get("offered_when")
        .and_then(|v| r.expr(v, text, "`offered_when`"));
    let trigger = f
        .get("trigger")
        .map(|v| read_trigger(r, v))
        .unwrap_or_default();
    let guide = f
        .get("guide")
        .map(|v| super::guide::read_guide(r, v))
        .unwrap_or_default();

    Some(BundleDef {
        id,
        version,
        title,
        description,
        calendar,
        time_limit,
        time_limit_written,
        statutory_limit,
        form,
        materials,
        tasks,
        result,
        supplement,
        evaluation,
        offered_when,
        trigger,
        guide,
        broken: r.broken.clone(),
    })
}

fn read_result(r: &mut Reader, node: &Node, text: &str) -> ResultDef {
    let mut out = ResultDef::default();
    let Some(f) = r.map(node, "`result`", keys::RESULT) else {
        return out;
    };
    if let Some(v) = f.get("on_reject") {
        out.on_reject = r
            .choice(
                v,
                "`on_reject`",
                &[
                    ("cancel_dependants", OnReject::CancelDependants),
                    ("reject_bundle", OnReject::RejectBundle),
                ],
            )
            .unwrap_or_default();
    }
    if let Some(v) = f.get("on_deferred_overdue") {
        out.on_deferred_overdue = r
            .choice(
                v,
                "`on_deferred_overdue`",
                &[
                    ("terminate", OnDeferredOverdue::Terminate),
                    ("escalate", OnDeferredOverdue::Escalate),
                ],
            )
            .unwrap_or_default();
    }
    if let Some(v) = f.get("documents") {
        out.documents = r.expr_map(v, text, "`result.documents`");
    }
    out
}

fn read_supplement(r: &mut Reader, node: &Node) -> SupplementDef {
    let mut out = SupplementDef::default();
    let Some(f) = r.map(node, "`supplement`", keys::SUPPLEMENT) else {
        return out;
    };
    if let Some(d) = f
        .get("respond_within")
        .and_then(|v| r.duration(v, "`respond_within`"))
    {
        out.respond_within = d.value;
    }
    if let Some(v) = f.get("pause") {
        out.pause = r
            .choice(
                v,
                "`supplement.pause`",
                &[("task", PauseScope::Task), ("case", PauseScope::Case)],
            )
            .unwrap_or_default();
    }
    out
}

fn read_evaluation(r: &mut Reader, node: &Node) -> EvaluationDef {
    let mut out = EvaluationDef::default();
    if let Some(f) = r.map(node, "`evaluation`", keys::EVALUATION)
        && let Some(d) = f
            .get("rectify_within")
            .and_then(|v| r.duration(v, "`rectify_within`"))
    {
        out.rectify_within = d.value;
    }
    out
}

fn read_trigger(r: &mut Reader, node: &Node) -> TriggerDef {
    let mut out = TriggerDef::default();
    if let Some(f) = r.map(node, "`trigger`", keys::TRIGGER)
        && let Some(b) = f
            .get("proposed")
            .and_then(|v| r.boolean(v, "`trigger.proposed`"))
    {
        out.proposed = b;
    }
    out
}
