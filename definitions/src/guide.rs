//! 办事指南 (the published service guide), generated from the compiled [`Blueprint`] the
//! engine runs — so the guide and the engine's behaviour cannot disagree. [`Guide::of`]
//! gathers what a guide says; [`render_markdown`] and [`render_html`] write it out.

mod html;
mod markdown;

use serde::Serialize;

pub use html::{escape, render_html};
pub use markdown::render_markdown;

use crate::blueprint::{Blueprint, MaterialOrigin, TaskMode};
use crate::duration::{Duration, DurationUnit};
use crate::model::FieldType;

/// Everything a 办事指南 says, in the order it says it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guide {
    /// Bundle id and version.
    pub id: String,
    /// Version.
    pub version: u32,
    /// 事项名称.
    pub title: String,
    /// 事项说明.
    pub description: Option<String>,
    /// 服务对象.
    pub applicants: Vec<String>,
    /// 办理渠道, as labels (`综合窗口`, `网上办事大厅`…).
    pub channels: Vec<String>,
    /// 办理地点.
    pub where_to_apply: Option<String>,
    /// 办理时间.
    pub hours: Option<String>,
    /// 咨询电话.
    pub consult_phone: Option<String>,
    /// 投诉电话.
    pub complaint_phone: Option<String>,
    /// 承诺时限 of the whole bundle.
    pub time_limit: Option<String>,
    /// 法定时限 of the whole bundle.
    pub statutory_limit: Option<String>,
    /// When the bundle is offered at all (the condition as written).
    pub offered_when: Option<String>,
    /// The items (事项), one per task, in file order.
    pub items: Vec<Item>,
    /// The departments and their items.
    pub departments: Vec<Department>,
    /// 情形: each form field that decides which items apply or which materials are needed.
    pub situations: Vec<Situation>,
    /// 申请材料, merged.
    pub materials: Vec<Material>,
    /// 办理结果: the documents the applicant receives.
    pub results: Vec<Outcome>,
    /// 补正: how long the applicant has to answer a request.
    pub supplement_within: String,
    /// Anything else.
    pub notes: Option<String>,
}

/// One item (a task of the bundle).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Task id.
    pub id: String,
    /// 事项名称.
    pub title: String,
    /// Department id.
    pub department: String,
    /// Its display name (the id when the bundle gives none).
    pub department_name: String,
    /// 事项编码.
    pub code: Option<String>,
    /// How it is decided, in words (审批, 告知承诺, 自动核验…).
    pub mode: String,
    /// Applies only when this holds (the condition as written).
    pub when: Option<String>,
    /// One per element of this list (e.g. per partner).
    pub for_each: Option<String>,
    /// Items it waits for (titles).
    pub after: Vec<String>,
    /// 承诺时限.
    pub time_limit: Option<String>,
    /// 法定时限.
    pub statutory_limit: Option<String>,
    /// 设定依据.
    pub legal_basis: Vec<String>,
    /// 收费标准.
    pub fee: Option<String>,
    /// The materials its department receives (titles).
    pub materials: Vec<String>,
}

/// A department of the bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Department {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Its items (titles).
    pub items: Vec<String>,
}

/// A 情形 question: a form field and what its answer switches on or off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Situation {
    /// The field.
    pub field: String,
    /// Its label.
    pub question: String,
    /// The allowed answers, where declared.
    pub options: Vec<String>,
    /// What depends on it: `(what, condition)`.
    pub decides: Vec<(String, String)>,
}

/// One line of the merged materials list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Material {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// How it is obtained, in words.
    pub source: String,
    /// Whether the applicant hands it in (false: fetched by 数据共享 or as an e-licence).
    pub applicant_brings: bool,
    /// 必需, 情形 (with the condition), or 非必需.
    pub necessity: String,
    /// 容缺: may be handed in this long after acceptance.
    pub deferrable: Option<String>,
    /// 原件/复印件.
    pub form: Option<String>,
    /// 份数.
    pub copies: Option<u32>,
    /// 样本.
    pub sample: Option<String>,
    /// 说明.
    pub note: Option<String>,
    /// Items that use it (titles).
    pub used_by: Vec<String>,
}

/// A document the applicant receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Its name (营业执照…).
    pub name: String,
    /// The items it comes from (titles).
    pub from: Vec<String>,
}

/// A limit in words: `3 个工作日`, `20 日`.
pub fn limit_text(d: &Duration) -> String {
    let unit = match d.unit {
        DurationUnit::WorkingDays => "个工作日",
        DurationUnit::Days => "日",
        DurationUnit::Hours => "小时",
        DurationUnit::Minutes => "分钟",
        DurationUnit::Seconds => "秒",
    };
    format!("{} {unit}", d.amount)
}

/// A channel's label: the four known ones in words, others as written.
pub fn channel_label(channel: &str) -> String {
    match channel {
        "window" => "综合窗口".to_owned(),
        "portal" => "网上办事大厅".to_owned(),
        "app" => "移动端(App/小程序)".to_owned(),
        "kiosk" => "自助服务终端".to_owned(),
        other => other.to_owned(),
    }
}

impl Guide {
    /// The 基本信息 table: `(label, value)`, `None` where the bundle says nothing.
    pub fn basics(&self) -> Vec<(&'static str, Option<String>)> {
        let list = |v: &[String]| Some(v.join("、")).filter(|t| !t.is_empty());
        vec![
            ("服务对象", list(&self.applicants)),
            ("办理渠道", list(&self.channels)),
            ("办理地点", self.where_to_apply.clone()),
            ("办理时间", self.hours.clone()),
            ("承诺时限", self.time_limit.clone()),
            ("法定时限", self.statutory_limit.clone()),
            ("咨询电话", self.consult_phone.clone()),
            ("投诉电话", self.complaint_phone.clone()),
            ("补正期限", Some(self.supplement_within.clone())),
        ]
    }

    /// The guide of a compiled bundle.
    pub fn of(bp: &Blueprint) -> Guide {
        let g = &bp.guide;
        let dept_name = |id: &str| {
            g.departments
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.to_owned())
        };
        let title_of = |i: usize| bp.tasks.get(i).map(|t| t.title.clone()).unwrap_or_default();
        let material_title = |id: &str| {
            bp.materials
                .get(id)
                .and_then(|m| m.title.clone())
                .unwrap_or_else(|| id.to_owned())
        };
        let items: Vec<Item> = bp
            .tasks
            .iter()
            .map(|t| Item {
                id: t.id.clone(),
                title: t.title.clone(),
                department: t.department.to_string(),
                department_name: dept_name(&t.department),
                code: t.item.clone(),
                mode: match &t.mode {
                    TaskMode::Decide {
                        commitment_allowed: true,
                        ..
                    } => "审批(可选告知承诺)".to_owned(),
                    TaskMode::Decide { .. } => "审批".to_owned(),
                    TaskMode::Commitment { verify_within } => match verify_within {
                        Some(d) => format!("告知承诺(承诺即批,{}内核查)", limit_text(d)),
                        None => "告知承诺(承诺即批,事后核查)".to_owned(),
                    },
                    TaskMode::Auto { .. } => "自动核验(数据比对,即办)".to_owned(),
                },
                when: t.when.as_ref().map(|e| e.text().to_owned()),
                for_each: t.for_each.as_ref().map(|e| e.text().to_owned()),
                after: t.upstream.iter().map(|u| title_of(u.index())).collect(),
                time_limit: bp.task_limit(t.idx).as_ref().map(limit_text),
                statutory_limit: t.statutory_limit.as_ref().map(limit_text),
                legal_basis: t.guide.legal_basis.clone(),
                fee: t.guide.fee.clone(),
                materials: t.materials.iter().map(|m| material_title(m)).collect(),
            })
            .collect();
        let mut departments: Vec<Department> = Vec::new();
        for t in &bp.tasks {
            match departments.iter_mut().find(|d| d.id == *t.department) {
                Some(d) => d.items.push(t.title.clone()),
                None => departments.push(Department {
                    id: t.department.to_string(),
                    name: dept_name(&t.department),
                    items: vec![t.title.clone()],
                }),
            }
        }
        let materials = bp
            .materials
            .iter()
            .map(|(id, m)| {
                let (source, brings) = match &m.source {
                    MaterialOrigin::Applicant => ("申请人提交".to_owned(), true),
                    MaterialOrigin::Shared => ("数据共享获取,无需提交".to_owned(), false),
                    MaterialOrigin::Task(i) => (
                        format!("由「{}」办结后以电子证照提供,无需提交", title_of(i.index())),
                        false,
                    ),
                };
                let necessity = match (&m.required_when, m.required) {
                    (Some(e), _) => format!("情形必需:{}", e.text()),
                    (None, true) => "必需".to_owned(),
                    (None, false) => "非必需".to_owned(),
                };
                Material {
                    id: id.clone(),
                    title: m.title.clone().unwrap_or_else(|| id.clone()),
                    source,
                    applicant_brings: brings,
                    necessity,
                    deferrable: m
                        .deferrable
                        .as_ref()
                        .map(|d| format!("可容缺受理,受理后 {} 内补交", limit_text(d))),
                    form: m.guide.form.map(|f| f.label().to_owned()),
                    copies: m.guide.copies,
                    sample: m.guide.sample.clone(),
                    note: m.guide.note.clone(),
                    used_by: bp
                        .tasks
                        .iter()
                        .filter(|t| t.materials.iter().any(|x| x == id))
                        .map(|t| t.title.clone())
                        .collect(),
                }
            })
            .collect();
        let results = bp
            .documents
            .iter()
            .map(|(name, e)| Outcome {
                name: name.clone(),
                from: bp
                    .tasks
                    .iter()
                    .filter(|t| e.reads_task(&t.id))
                    .map(|t| t.title.clone())
                    .collect(),
            })
            .collect();
        Guide {
            id: bp.id.to_string(),
            version: bp.version,
            title: bp.title.clone(),
            description: bp.description.clone(),
            applicants: g.applicants.clone(),
            channels: g.channels.iter().map(|c| channel_label(c)).collect(),
            where_to_apply: g.where_to_apply.clone(),
            hours: g.hours.clone(),
            consult_phone: g.consult_phone.clone(),
            complaint_phone: g.complaint_phone.clone(),
            time_limit: bp.time_limit.as_ref().map(limit_text),
            statutory_limit: bp.statutory_limit.as_ref().map(limit_text),
            offered_when: bp.offered_when.as_ref().map(|e| e.text().to_owned()),
            items,
            departments,
            situations: situations(bp),
            materials,
            results,
            supplement_within: limit_text(&bp.supplement.respond_within),
            notes: g.notes.clone(),
        }
    }
}

/// Every form field some condition reads: item `when`s, material `required` conditions,
/// the bundle's `offered_when`.
fn situations(bp: &Blueprint) -> Vec<Situation> {
    let mut conditions: Vec<(String, &crate::Expr)> = Vec::new();
    if let Some(e) = &bp.offered_when {
        conditions.push(("本一件事是否可办".to_owned(), e));
    }
    for t in &bp.tasks {
        if let Some(e) = &t.when {
            conditions.push((format!("是否办理「{}」", t.title), e));
        }
    }
    for (id, m) in &bp.materials {
        if let Some(e) = &m.required_when {
            let title = m.title.clone().unwrap_or_else(|| id.clone());
            conditions.push((format!("是否需要提交「{title}」"), e));
        }
    }
    let mut out: Vec<Situation> = Vec::new();
    for (name, rule) in &bp.form {
        let decides: Vec<(String, String)> = conditions
            .iter()
            .filter(|(_, e)| {
                e.paths().iter().any(|p| {
                    p.segments.first().is_some_and(|s| s == "form")
                        && p.segments.get(1).is_some_and(|s| s == name)
                })
            })
            .map(|(what, e)| (what.clone(), e.text().to_owned()))
            .collect();
        if decides.is_empty() {
            continue;
        }
        let f = &rule.field;
        let options = match (&f.allowed, f.ty) {
            (Some(values), _) => values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect(),
            (None, FieldType::Boolean) => vec!["是".to_owned(), "否".to_owned()],
            _ => Vec::new(),
        };
        out.push(Situation {
            field: name.clone(),
            question: f.title.clone().unwrap_or_else(|| name.clone()),
            options,
            decides,
        });
    }
    out
}
