//! `tasks:`.

use indexmap::IndexMap;

use super::{IdKind, Reader};
use crate::diagnostic::{Code, Diagnostic};
use crate::duration::Duration;
use crate::keys;
use crate::model::{Located, Mode, OutputType, RetryDef, SendBackDef, TaskDef, Warn};
use crate::yaml::{Node, NodeKind};

const OUTPUT_TYPES: &[(&str, OutputType)] = &[
    ("string", OutputType::String),
    ("number", OutputType::Number),
    ("integer", OutputType::Integer),
    ("boolean", OutputType::Boolean),
    ("date", OutputType::Date),
    ("licence", OutputType::Licence),
    ("list", OutputType::List),
    ("object", OutputType::Object),
];

const MODES: &[(&str, Mode)] = &[
    ("decide", Mode::Decide),
    ("commitment", Mode::Commitment),
    ("auto", Mode::Auto),
];

pub(crate) fn read_tasks(r: &mut Reader, node: &Node, text: &str) -> IndexMap<String, TaskDef> {
    let mut out = IndexMap::new();
    let Some(fields) = r.entries(node, "`tasks`", Code::DuplicateTask) else {
        return out;
    };
    for (key, value) in fields.entries() {
        let ok = r.check_id(&key.name, key.pos, "task id", IdKind::Name);
        let task = read_task(r, value, text, &key.name);
        if task.is_none() || !ok {
            r.broken.tasks.insert(key.name.clone());
        }
        if let Some(mut task) = task {
            task.pos = key.pos;
            if ok {
                out.insert(key.name.clone(), task);
            }
        }
    }
    out
}

fn read_task(r: &mut Reader, node: &Node, text: &str, id: &str) -> Option<TaskDef> {
    let what = &format!("task `{id}`");
    let f = r.map(node, what, keys::TASK)?;
    let title = r
        .require(
            &f,
            "title",
            what,
            "add `title:` with the service item's name",
        )
        .and_then(|v| r.string(v, "`title`"))
        .unwrap_or_default();
    let department = r
        .require(
            &f,
            "department",
            what,
            "add `department:` with the id of the department that decides it",
        )
        .and_then(|v| r.located_string(v, "`department`"))
        .filter(|d| r.check_id(&d.value, d.pos, "department id", IdKind::Department))
        .unwrap_or(Located {
            value: String::new(),
            pos: node.pos,
        });
    let item = f.get("item").and_then(|v| r.string(v, "`item`"));
    let after = f
        .get("after")
        .map(|v| r.name_list(v, "`after`"))
        .unwrap_or_default();
    let when = f.get("when").and_then(|v| r.expr(v, text, "`when`"));
    let for_each = f
        .get("for_each")
        .and_then(|v| r.expr(v, text, "`for_each`"));
    let as_var = f
        .get("as")
        .and_then(|v| r.located_string(v, "`as`"))
        .filter(|a| r.check_id(&a.value, a.pos, "variable name", IdKind::Name));
    if let (Some(a), None) = (&as_var, &for_each) {
        r.push(
            Diagnostic::new(
                Code::MisplacedKey,
                a.pos,
                format!(
                    "{what}: `as` names the element of `for_each`, which this task does not have"
                ),
            )
            .with_hint("remove `as`, or add `for_each:` with a list expression"),
        );
    }
    if let Some(a) = &as_var
        && keys::EXPRESSION_ROOTS.contains(&a.value.as_str())
    {
        r.push(
            Diagnostic::new(
                Code::InvalidValue,
                a.pos,
                format!(
                    "{what}: `as: {}` would hide the `{}` variable",
                    a.value, a.value
                ),
            )
            .with_hint("choose another name, e.g. `partner`"),
        );
    }
    let input = f
        .get("input")
        .map(|v| r.expr_map(v, text, "`input`"))
        .unwrap_or_default();
    let materials = f
        .get("materials")
        .map(|v| r.name_list(v, "`materials`"))
        .unwrap_or_default();
    let output = f
        .get("output")
        .map(|v| read_output(r, v, id))
        .unwrap_or_default();
    let time_limit = f
        .get("time_limit")
        .and_then(|v| r.duration(v, "`time_limit`"));
    let statutory_limit = f
        .get("statutory_limit")
        .and_then(|v| r.duration(v, "`statutory_limit`"));
    let warn = f.get("warn").and_then(|v| read_warn(r, v));
    let mode = match f.get("mode") {
        Some(v) => Located {
            // A misspelt mode: assume what the other keys suggest, so a `rule` is not
            // reported again as "rule without auto".
            value: r
                .choice(v, "`mode`", MODES)
                .unwrap_or(if f.get("rule").is_some() {
                    Mode::Auto
                } else {
                    Mode::Decide
                }),
            pos: v.pos,
        },
        None => Located {
            value: Mode::Decide,
            pos: node.pos,
        },
    };
    let commitment_allowed = match f.get("commitment") {
        None => false,
        Some(v) => match &v.kind {
            NodeKind::Str(s) if s == "allowed" => {
                if mode.value != Mode::Decide {
                    r.push(
                        Diagnostic::new(Code::MisplacedKey, v.pos, format!("{what}: `commitment: allowed` goes with `mode: decide`"))
                            .with_hint("a `commitment` task is always 告知承诺; an `auto` task has no applicant choice: remove the key"),
                    );
                }
                true
            }
            NodeKind::Bool(false) => false,
            _ => {
                r.push(
                    Diagnostic::new(Code::InvalidValue, v.pos, format!("{what}: `commitment` takes the value `allowed`"))
                        .with_hint("write `commitment: allowed` to let the applicant choose 告知承诺 at submission"),
                );
                false
            }
        },
    };
    let verify_within = f
        .get("verify_within")
        .and_then(|v| r.duration(v, "`verify_within`"));
    if let Some(v) = &verify_within
        && mode.value != Mode::Commitment
        && !commitment_allowed
    {
        r.push(
            Diagnostic::new(
                Code::MisplacedKey,
                v.pos,
                format!("{what}: `verify_within` applies to 告知承诺 tasks only"),
            )
            .with_hint(
                "add `mode: commitment` (or `commitment: allowed`), or remove `verify_within`",
            ),
        );
    }
    let rule = f.get("rule").and_then(|v| r.expr(v, text, "`rule`"));
    if let (Some(rule), false) = (&rule, mode.value == Mode::Auto) {
        r.push(
            Diagnostic::new(
                Code::RuleWithoutAuto,
                rule.pos,
                format!("{what} has a `rule` but is not `mode: auto`"),
            )
            .with_hint("add `mode: auto` so the rule decides, or remove `rule`"),
        );
    }
    if mode.value == Mode::Auto && rule.is_none() && f.get("rule").is_none() {
        r.push(
            Diagnostic::new(
                Code::AutoWithoutRule,
                mode.pos,
                format!("{what} is `mode: auto` but has no `rule`"),
            )
            .with_hint("add `rule:` with an expression that is true when the task is approved"),
        );
    }
    let retry = f.get("retry").and_then(|v| read_retry(r, v));
    let send_back = f.get("send_back").and_then(|v| read_send_back(r, v));
    let guide = super::guide::read_task_guide(r, &f);
    Some(TaskDef {
        pos: node.pos,
        title,
        department,
        item,
        after,
        when,
        for_each,
        as_var,
        input,
        materials,
        output,
        time_limit,
        statutory_limit,
        warn,
        mode,
        commitment_allowed,
        verify_within,
        rule,
        retry,
        send_back,
        guide,
    })
}

fn read_output(r: &mut Reader, node: &Node, task: &str) -> IndexMap<String, Located<OutputType>> {
    let mut out = IndexMap::new();
    let Some(fields) = r.entries(node, "`output`", Code::DuplicateKey) else {
        r.broken.outputs.insert((task.to_owned(), "*".to_owned()));
        return out;
    };
    for (k, v) in fields.entries() {
        let ok = r.check_id(&k.name, k.pos, "output field", IdKind::Name);
        let t = r.choice(v, "output type", OUTPUT_TYPES);
        if t.is_none() || !ok {
            r.broken.outputs.insert((task.to_owned(), k.name.clone()));
        }
        if let Some(t) = t
            && ok
        {
            out.insert(
                k.name.clone(),
                Located {
                    value: t,
                    pos: k.pos,
                },
            );
        }
    }
    out
}

fn read_warn(r: &mut Reader, node: &Node) -> Option<Located<Warn>> {
    let s = r.string(node, "`warn`")?;
    if let Some(p) = s.trim().strip_suffix('%') {
        return match p.trim().parse::<u8>() {
            Ok(n) if (1..=99).contains(&n) => Some(Located {
                value: Warn::Percent(n),
                pos: node.pos,
            }),
            _ => {
                r.push(
                    Diagnostic::new(Code::InvalidValue, node.pos, format!("`warn: {s}` is not a percentage from 1% to 99%"))
                        .with_hint("write e.g. `warn: 80%` (yellow when 80% of the limit has passed) or `warn: 1wd`"),
                );
                None
            }
        };
    }
    r.duration(node, "`warn`").map(|d| Located {
        value: Warn::Before(d.value),
        pos: d.pos,
    })
}

/// `send_back: false`, `send_back: true`, or `send_back: {max: N}`.
fn read_send_back(r: &mut Reader, node: &Node) -> Option<Located<SendBackDef>> {
    let value = if let NodeKind::Bool(b) = node.kind {
        SendBackDef {
            allowed: b,
            max: None,
        }
    } else {
        let f = r.map(node, "`send_back`", keys::SEND_BACK)?;
        let mut out = SendBackDef::default();
        if let Some(v) = f.get("max") {
            match r.uint(v, "`send_back.max`") {
                Some(0) => r.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        v.pos,
                        "`send_back.max` must be at least 1",
                    )
                    .with_hint("write `send_back: false` to forbid sending the result back"),
                ),
                Some(n) => out.max = Some(n),
                None => {}
            }
        }
        out
    };
    Some(Located {
        value,
        pos: node.pos,
    })
}

fn read_retry(r: &mut Reader, node: &Node) -> Option<Located<RetryDef>> {
    let f = r.map(node, "`retry`", keys::RETRY)?;
    let mut out = RetryDef::default();
    if let Some(v) = f.get("attempts") {
        match r.uint(v, "`retry.attempts`") {
            Some(0) => r.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    v.pos,
                    "`retry.attempts` must be at least 1",
                )
                .with_hint("attempts count the first try too; 1 means no retry"),
            ),
            Some(n) => out.attempts = n,
            None => {}
        }
    }
    if let Some(v) = f.get("backoff") {
        let s = r.string(v, "`retry.backoff`")?;
        let parsed = s.split_once("..").and_then(|(a, b)| {
            Some((
                a.trim().parse::<Duration>().ok()?,
                b.trim().parse::<Duration>().ok()?,
            ))
        });
        match parsed {
            Some((lo, hi))
                if lo.as_std().is_some() && hi.as_std().is_some() && lo.as_std() <= hi.as_std() =>
            {
                out.backoff_min = lo;
                out.backoff_max = hi;
            }
            _ => r.push(
                Diagnostic::new(
                    Code::BadDuration,
                    v.pos,
                    format!("`retry.backoff: {s}` is not a range of clock durations"),
                )
                .with_hint("write `first..largest` in h, m or s, e.g. `1s..10m`"),
            ),
        }
    }
    Some(Located {
        value: out,
        pos: node.pos,
    })
}
