//! The 办事指南 keys: `guide:` at the top, `legal_basis`/`fee` on tasks, `form`/`copies`/
//! `sample`/`note` on materials. Nothing here changes what the engine does; the guide is
//! generated from them and the rest of the bundle.

use super::{Fields, Reader};
use crate::keys;
use crate::model::{GuideDef, MaterialForm, MaterialGuide, TaskGuide};
use crate::yaml::{Node, NodeKind};

/// `guide:`.
pub(crate) fn read_guide(r: &mut Reader, node: &Node) -> GuideDef {
    let mut out = GuideDef::default();
    let Some(f) = r.map(node, "`guide`", keys::GUIDE) else {
        return out;
    };
    if let Some(v) = f.get("applicants") {
        out.applicants = text_list(r, v, "`guide.applicants`");
    }
    if let Some(v) = f.get("channels") {
        out.channels = text_list(r, v, "`guide.channels`");
    }
    out.where_to_apply = f.get("where").and_then(|v| r.string(v, "`guide.where`"));
    out.hours = f.get("hours").and_then(|v| r.string(v, "`guide.hours`"));
    out.notes = f.get("notes").and_then(|v| r.string(v, "`guide.notes`"));
    if let Some(p) = f
        .get("phone")
        .and_then(|v| r.map(v, "`guide.phone`", keys::PHONE))
    {
        out.consult_phone = p
            .get("consult")
            .and_then(|v| r.string(v, "`guide.phone.consult`"));
        out.complaint_phone = p
            .get("complaint")
            .and_then(|v| r.string(v, "`guide.phone.complaint`"));
    }
    if let Some(d) = f.get("departments").and_then(|v| {
        r.entries(
            v,
            "`guide.departments`",
            crate::diagnostic::Code::DuplicateKey,
        )
    }) {
        for (k, v) in d.entries() {
            if let Some(name) = r.string(v, &format!("`guide.departments.{}`", k.name)) {
                out.departments.insert(k.name.clone(), name);
            }
        }
    }
    out
}

/// `legal_basis` and `fee` of a task.
pub(crate) fn read_task_guide(r: &mut Reader, f: &Fields<'_>) -> TaskGuide {
    TaskGuide {
        legal_basis: f
            .get("legal_basis")
            .map(|v| text_list(r, v, "`legal_basis`"))
            .unwrap_or_default(),
        fee: f.get("fee").and_then(|v| r.string(v, "`fee`")),
    }
}

/// `form`, `copies`, `sample` and `note` of a material.
pub(crate) fn read_material_guide(r: &mut Reader, f: &Fields<'_>) -> MaterialGuide {
    let form = f.get("form").and_then(|v| {
        r.choice(
            v,
            "`form`",
            &[
                ("original", MaterialForm::Original),
                ("copy", MaterialForm::Copy),
                ("original_and_copy", MaterialForm::OriginalAndCopy),
                ("electronic", MaterialForm::Electronic),
            ],
        )
    });
    MaterialGuide {
        form,
        copies: f.get("copies").and_then(|v| r.uint(v, "`copies`")),
        sample: f.get("sample").and_then(|v| r.string(v, "`sample`")),
        note: f.get("note").and_then(|v| r.string(v, "`note`")),
    }
}

/// A list of texts; one text is a list of one.
fn text_list(r: &mut Reader, node: &Node, what: &str) -> Vec<String> {
    match &node.kind {
        NodeKind::Seq(items) => items.iter().filter_map(|n| r.string(n, what)).collect(),
        NodeKind::Null => Vec::new(),
        NodeKind::Map(_) => {
            r.wrong_type(node, what, "a list of texts such as `[企业, 个体工商户]`");
            Vec::new()
        }
        _ => r.string(node, what).into_iter().collect(),
    }
}
