//! The guide as Markdown (for portals that publish Markdown, and for review in a diff).

use std::fmt::Write as _;

use super::Guide;

/// Text safe inside a Markdown table cell or line.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn or_dash(v: Option<&str>) -> String {
    v.map_or_else(|| "—".to_owned(), md)
}

/// The guide as Markdown.
pub fn render_markdown(g: &Guide) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {} 办事指南\n", md(&g.title));
    let _ = writeln!(s, "事项编号 `{}` · 版本 {}\n", g.id, g.version);
    if let Some(d) = &g.description {
        let _ = writeln!(s, "{}\n", md(d));
    }
    s.push_str("## 基本信息\n\n| 项目 | 内容 |\n|---|---|\n");
    let rows = g.basics();
    for (k, v) in rows {
        let _ = writeln!(s, "| {k} | {} |", or_dash(v.as_deref()));
    }
    if let Some(w) = &g.offered_when {
        let _ = writeln!(s, "\n适用条件:`{}`", md(w));
    }
    s.push_str("\n## 办理事项\n\n| 事项 | 事项编码 | 部门 | 办理方式 | 适用情形 | 承诺时限 | 法定时限 | 收费 | 设定依据 |\n|---|---|---|---|---|---|---|---|---|\n");
    for i in &g.items {
        let when = match (&i.when, &i.for_each) {
            (Some(w), _) => format!("`{}`", md(w)),
            (None, Some(f)) => format!("按 `{}` 逐项办理", md(f)),
            (None, None) => "均办理".to_owned(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&i.title),
            or_dash(i.code.as_deref()),
            md(&i.department_name),
            md(&i.mode),
            when,
            or_dash(i.time_limit.as_deref()),
            or_dash(i.statutory_limit.as_deref()),
            or_dash(i.fee.as_deref()),
            if i.legal_basis.is_empty() {
                "—".to_owned()
            } else {
                md(&i.legal_basis.join(";"))
            }
        );
    }
    s.push_str("\n## 办理部门\n\n");
    for d in &g.departments {
        let _ = writeln!(s, "- **{}**:{}", md(&d.name), md(&d.items.join("、")));
    }
    if !g.situations.is_empty() {
        s.push_str("\n## 情形选择\n\n");
        for q in &g.situations {
            let opts = if q.options.is_empty() {
                String::new()
            } else {
                format!("({})", md(&q.options.join(" / ")))
            };
            let _ = writeln!(s, "- **{}**{opts}", md(&q.question));
            for (what, cond) in &q.decides {
                let _ = writeln!(s, "  - {}:`{}`", md(what), md(cond));
            }
        }
    }
    s.push_str("\n## 申请材料\n\n| 材料 | 获取方式 | 必要性 | 容缺 | 形式 | 份数 | 说明 | 用于 |\n|---|---|---|---|---|---|---|---|\n");
    for m in &g.materials {
        let note = match (&m.note, &m.sample) {
            (Some(n), Some(u)) => format!("{};样本:{}", md(n), md(u)),
            (Some(n), None) => md(n),
            (None, Some(u)) => format!("样本:{}", md(u)),
            (None, None) => "—".to_owned(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&m.title),
            md(&m.source),
            md(&m.necessity),
            or_dash(m.deferrable.as_deref()),
            or_dash(m.form.as_deref()),
            m.copies.map_or_else(|| "—".to_owned(), |c| c.to_string()),
            note,
            md(&m.used_by.join("、"))
        );
    }
    s.push_str("\n## 办理结果\n\n");
    for r in &g.results {
        let _ = writeln!(s, "- {}(来自:{})", md(&r.name), md(&r.from.join("、")));
    }
    if let Some(n) = &g.notes {
        let _ = writeln!(s, "\n## 注意事项\n\n{}", md(n));
    }
    s
}
