//! The 办事指南 of every catalog bundle, checked against the bundle it is generated from:
//! every task, material, limit, 情形 and result appears, in HTML and Markdown; a change to
//! the bundle shows in the guide; bundle text is escaped.

use std::path::{Path, PathBuf};

use yijian_definitions::blueprint::MaterialOrigin;
use yijian_definitions::guide::{Guide, limit_text, render_html, render_markdown};
use yijian_definitions::{Blueprint, CheckOptions, check_bytes};

fn catalog() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("catalog folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "the catalog: {files:?}");
    files
}

fn compile(text: &str) -> std::sync::Arc<Blueprint> {
    let checked = check_bytes(text.as_bytes(), &CheckOptions::default());
    checked
        .blueprint
        .unwrap_or_else(|| panic!("does not compile: {:?}", checked.diagnostics))
}

/// Text as the HTML page writes it.
fn esc(t: &str) -> String {
    yijian_definitions::guide::escape(t)
}

/// Text as the Markdown writes it.
fn md(t: &str) -> String {
    t.replace('|', "\\|").replace('\n', " ")
}

/// Everything the bundle says that a guide must say, each as it must appear.
fn facts(bp: &Blueprint) -> Vec<String> {
    let mut out = vec![bp.title.clone()];
    if let Some(l) = &bp.time_limit {
        out.push(limit_text(l));
    }
    if let Some(l) = &bp.statutory_limit {
        out.push(limit_text(l));
    }
    for t in &bp.tasks {
        out.push(t.title.clone());
        out.extend(t.item.clone());
        if let Some(l) = bp.task_limit(t.idx) {
            out.push(limit_text(&l));
        }
        if let Some(l) = &t.statutory_limit {
            out.push(limit_text(l));
        }
        if let Some(w) = &t.when {
            out.push(w.text().to_owned());
        }
        out.extend(t.guide.legal_basis.iter().cloned());
        out.extend(t.guide.fee.clone());
    }
    for (id, m) in &bp.materials {
        out.push(m.title.clone().unwrap_or_else(|| id.clone()));
        if let Some(w) = &m.required_when {
            out.push(w.text().to_owned());
        }
        if let Some(d) = &m.deferrable {
            out.push(format!("受理后 {} 内补交", limit_text(d)));
        }
        if m.source == MaterialOrigin::Shared {
            out.push("数据共享获取".to_owned());
        }
        out.extend(m.guide.note.clone());
    }
    for (name, _) in &bp.documents {
        out.push(name.clone());
    }
    let g = &bp.guide;
    out.extend(g.applicants.iter().cloned());
    out.extend(g.consult_phone.clone());
    out.extend(g.where_to_apply.clone());
    out.extend(g.departments.values().cloned());
    out
}

#[test]
fn every_catalog_guide_says_what_its_bundle_says() {
    for file in catalog() {
        let text = std::fs::read_to_string(&file).expect("read");
        let bp = compile(&text);
        let guide = Guide::of(&bp);
        let html = render_html(&guide);
        let markdown = render_markdown(&guide);
        for fact in facts(&bp) {
            assert!(
                html.contains(&esc(&fact)),
                "{}: the HTML guide lacks `{fact}`",
                file.display()
            );
            assert!(
                markdown.contains(&md(&fact)),
                "{}: the Markdown guide lacks `{fact}`",
                file.display()
            );
        }
        assert_eq!(guide.items.len(), bp.tasks.len(), "{}", file.display());
        assert_eq!(
            guide.materials.len(),
            bp.materials.len(),
            "{}",
            file.display()
        );
        // Every condition on a form field is a 情形 question naming what it decides.
        for t in bp.tasks.iter().filter(|t| t.when.is_some()) {
            let reads_form = t.when.as_ref().is_some_and(|w| w.text().contains("form."));
            if reads_form {
                assert!(
                    guide
                        .situations
                        .iter()
                        .any(|s| s.decides.iter().any(|(what, _)| what.contains(&t.title))),
                    "{}: no 情形 decides `{}`",
                    file.display(),
                    t.title
                );
            }
        }
        assert!(html.contains("@page{size:A4"), "a print style sheet for A4");
    }
}

#[test]
fn a_change_to_the_bundle_shows_in_its_guide() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/open-restaurant.yaml");
    let text = std::fs::read_to_string(path).expect("read");
    let before = render_markdown(&Guide::of(&compile(&text)));
    assert!(
        before.contains(
            "| 食品经营许可 | 000131024000 | 市场监督管理局 | 审批 | 均办理 | 3 个工作日 |"
        ),
        "{before}"
    );
    let changed = text
        .replace(
            "time_limit: 3wd\n    statutory_limit: 10wd",
            "time_limit: 4wd\n    statutory_limit: 10wd",
        )
        .replace(
            "  food_safety_rules: {title: 食品安全管理制度,",
            "  health_certs: {title: 从业人员健康证明, required: true}\n  food_safety_rules: {title: 食品安全管理制度,",
        );
    assert_ne!(changed, text, "the edits applied");
    let bp = compile(&changed);
    let after = render_markdown(&Guide::of(&bp));
    assert!(
        after.contains(
            "| 食品经营许可 | 000131024000 | 市场监督管理局 | 审批 | 均办理 | 4 个工作日 |"
        ),
        "{after}"
    );
    assert!(after.contains("从业人员健康证明"), "{after}");
    assert!(!before.contains("从业人员健康证明"));
    // The engine's blueprint is the same object: its limit changed too.
    let idx = bp.task_idx("food_permit").expect("task");
    assert_eq!(bp.task_limit(idx).map(|d| d.amount), Some(4));
}

#[test]
fn bundle_text_is_escaped_in_the_html_guide() {
    let text = r#"
yijian: 1
id: escape-me
version: 1
title: "<script>alert(1)</script> & 一件事"
time_limit: 1wd
guide:
  notes: '<img src=x onerror=alert(2)>'
materials:
  m: {title: "\"><b>材料</b>", required: true}
tasks:
  t: {title: "审批 <i>", department: d, materials: [m]}
"#;
    let html = render_html(&Guide::of(&compile(text)));
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b>材料"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; 一件事"));
}
