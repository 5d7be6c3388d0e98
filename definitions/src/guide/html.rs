//! The guide as one self-contained HTML page (no scripts, no external assets), with a
//! print style sheet for A4. Every text from the bundle is escaped.

use std::fmt::Write as _;

use super::Guide;

/// HTML-escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn cell(v: Option<&str>) -> String {
    v.map_or_else(|| "—".to_owned(), escape)
}

const STYLE: &str = "
body{font-family:'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei','WenQuanYi Micro Hei',sans-serif;
  max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.55}
h1{font-size:1.6rem;border-bottom:3px solid #b71c1c;padding-bottom:.4rem}
h2{font-size:1.2rem;margin-top:1.8rem;color:#b71c1c}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{border:1px solid #bbb;padding:.35rem .5rem;vertical-align:top;text-align:left}
th{background:#f3f3f3}
code{font-size:.85rem;background:#f6f6f6;padding:0 .2rem}
.meta{color:#555}.fetched{color:#1b5e20}.defer{color:#8a5a00}
@media print{
  @page{size:A4;margin:16mm 14mm}
  body{max-width:none;margin:0;font-size:10.5pt}
  h2{break-after:avoid}
  tr{break-inside:avoid}
  a{color:inherit;text-decoration:none}
}";

/// The guide as an HTML page.
pub fn render_html(g: &Guide) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} 办事指南</title><style>{STYLE}</style></head><body>",
        escape(&g.title)
    );
    let _ = write!(
        s,
        "<h1>{} 办事指南</h1><p class=\"meta\">事项编号 <code>{}</code> · 版本 {}</p>",
        escape(&g.title),
        escape(&g.id),
        g.version
    );
    if let Some(d) = &g.description {
        let _ = write!(s, "<p>{}</p>", escape(d));
    }
    s.push_str("<h2>基本信息</h2><table id=\"basics\">");
    let rows = g.basics();
    for (k, v) in rows {
        let _ = write!(s, "<tr><th>{k}</th><td>{}</td></tr>", cell(v.as_deref()));
    }
    s.push_str("</table>");
    if let Some(w) = &g.offered_when {
        let _ = write!(s, "<p>适用条件:<code>{}</code></p>", escape(w));
    }
    s.push_str(
        "<h2>办理事项</h2><table id=\"items\"><tr><th>事项</th><th>事项编码</th><th>部门</th>\
         <th>办理方式</th><th>适用情形</th><th>承诺时限</th><th>法定时限</th><th>收费</th>\
         <th>设定依据</th></tr>",
    );
    for i in &g.items {
        let when = match (&i.when, &i.for_each) {
            (Some(w), _) => format!("<code>{}</code>", escape(w)),
            (None, Some(f)) => format!("按 <code>{}</code> 逐项办理", escape(f)),
            (None, None) => "均办理".to_owned(),
        };
        let basis = if i.legal_basis.is_empty() {
            "—".to_owned()
        } else {
            i.legal_basis
                .iter()
                .map(|b| escape(b))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let _ = write!(
            s,
            "<tr data-task=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{when}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{basis}</td></tr>",
            escape(&i.id),
            escape(&i.title),
            cell(i.code.as_deref()),
            escape(&i.department_name),
            escape(&i.mode),
            cell(i.time_limit.as_deref()),
            cell(i.statutory_limit.as_deref()),
            cell(i.fee.as_deref()),
        );
    }
    s.push_str("</table><h2>办理部门</h2><ul id=\"departments\">");
    for d in &g.departments {
        let _ = write!(
            s,
            "<li><b>{}</b>:{}</li>",
            escape(&d.name),
            escape(&d.items.join("、"))
        );
    }
    s.push_str("</ul>");
    if !g.situations.is_empty() {
        s.push_str("<h2>情形选择</h2><ul id=\"situations\">");
        for q in &g.situations {
            let opts = if q.options.is_empty() {
                String::new()
            } else {
                format!("({})", escape(&q.options.join(" / ")))
            };
            let _ = write!(
                s,
                "<li data-field=\"{}\"><b>{}</b>{opts}<ul>",
                escape(&q.field),
                escape(&q.question)
            );
            for (what, cond) in &q.decides {
                let _ = write!(s, "<li>{}:<code>{}</code></li>", escape(what), escape(cond));
            }
            s.push_str("</ul></li>");
        }
        s.push_str("</ul>");
    }
    s.push_str(
        "<h2>申请材料</h2><table id=\"materials\"><tr><th>材料</th><th>获取方式</th>\
         <th>必要性</th><th>容缺</th><th>形式</th><th>份数</th><th>说明</th><th>用于</th></tr>",
    );
    for m in &g.materials {
        let class = if m.applicant_brings {
            ""
        } else {
            " class=\"fetched\""
        };
        let mut note = m.note.as_deref().map(escape).unwrap_or_default();
        if let Some(u) = &m.sample {
            if !note.is_empty() {
                note.push_str("<br>");
            }
            let _ = write!(note, "样本:{}", escape(u));
        }
        if note.is_empty() {
            note.push('—');
        }
        let _ = write!(
            s,
            "<tr data-material=\"{}\"><td>{}</td><td{class}>{}</td><td>{}</td>\
             <td class=\"defer\">{}</td><td>{}</td><td>{}</td><td>{note}</td><td>{}</td></tr>",
            escape(&m.id),
            escape(&m.title),
            escape(&m.source),
            escape(&m.necessity),
            cell(m.deferrable.as_deref()),
            cell(m.form.as_deref()),
            m.copies.map_or_else(|| "—".to_owned(), |c| c.to_string()),
            escape(&m.used_by.join("、")),
        );
    }
    s.push_str("</table><h2>办理结果</h2><ul id=\"results\">");
    for r in &g.results {
        let _ = write!(
            s,
            "<li>{}(来自:{})</li>",
            escape(&r.name),
            escape(&r.from.join("、"))
        );
    }
    s.push_str("</ul>");
    if let Some(n) = &g.notes {
        let _ = write!(s, "<h2>注意事项</h2><p>{}</p>", escape(n));
    }
    s.push_str("</body></html>\n");
    s
}
