//! `yijian migrate BUNDLE --from N --to M`: moves running cases to another version of their
//! bundle, straight on the store (docs/procedures.md "Migrating running cases"). A dry run
//! unless `--run`; one case and one transaction at a time, each printed as it is done, so
//! an interrupted run is resumed by running it again (moved cases are not moved twice).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use yijian::engine::calendar::Calendars;
use yijian::engine::ids::{Actor, CaseNo};
use yijian::engine::migrate::Plan;
use yijian::engine::{Engine, machine};
use yijian_store_sql::SqlStore;

/// What `yijian migrate` was asked.
pub(crate) struct Args<'a> {
    pub(crate) bundle: &'a str,
    pub(crate) from: u32,
    pub(crate) to: u32,
    pub(crate) cases: &'a [String],
    pub(crate) maps: &'a [String],
    pub(crate) reason: Option<&'a str>,
    pub(crate) run: bool,
    pub(crate) db: &'a str,
    pub(crate) deploy: Option<&'a Path>,
    pub(crate) calendars: Option<&'a Path>,
    pub(crate) json: bool,
}

pub(crate) fn run(a: &Args<'_>) -> anyhow::Result<ExitCode> {
    let mut mapping = BTreeMap::new();
    for m in a.maps {
        let Some((old, new)) = m.split_once('=') else {
            bail!("--map `{m}`: write OLD=NEW, e.g. --map water=water_supply");
        };
        mapping.insert(old.trim().to_owned(), new.trim().to_owned());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = SqlStore::connect(a.db)
            .await
            .with_context(|| format!("cannot open the store at {}", a.db))?;
        let mut calendars = Calendars::builtin()?;
        if let Some(dir) = a.calendars {
            calendars.load_dir(dir)?;
        }
        let engine = Engine::builder(store).calendars(calendars).build().await?;
        if let Some(file) = a.deploy {
            let yaml = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let d = engine.deploy(&yaml).await.with_context(|| format!("cannot deploy {}", file.display()))?;
            eprintln!("deployed {} version {}{}", d.id, d.version, if d.created { "" } else { " (already there)" });
        }
        let from = engine.blueprint_version(a.bundle, a.from).await?;
        let to = engine.blueprint_version(a.bundle, a.to).await?;
        let problems = machine::mapping_problems(&from, &to, &mapping);
        if !problems.is_empty() {
            bail!("the mapping does not fit versions {} and {}:\n  {}", a.from, a.to, problems.join("\n  "));
        }
        let reason = a
            .reason
            .map_or_else(|| format!("迁移至第 {} 版", a.to), str::to_owned);
        let mut out = std::io::stdout().lock();
        let (mut moved, mut stay) = (0_usize, 0_usize);
        let mut next: Option<CaseNo> = None;
        loop {
            let page: Vec<CaseNo> = if a.cases.is_empty() {
                let (page, more) = engine.cases_on(a.bundle, a.from, next.as_ref(), 500).await?;
                next = more;
                page
            } else {
                a.cases.iter().map(CaseNo::new).collect()
            };
            for no in &page {
                let plan = engine
                    .migrate(no, a.to, &mapping, Actor::Operator("yijian-migrate".into()), &reason, !a.run)
                    .await
                    .with_context(|| format!("case {no}"))?;
                if plan.migratable {
                    moved += 1;
                } else {
                    stay += 1;
                }
                if a.json {
                    writeln!(out, "{}", serde_json::to_string(&plan)?)?;
                } else {
                    writeln!(out, "{}", line(&plan, a.run))?;
                }
                out.flush()?;
            }
            if !a.cases.is_empty() || next.is_none() {
                break;
            }
        }
        let verb = if a.run { "migrated" } else { "would migrate" };
        eprintln!("{verb} {moved} case(s) from version {} to {}; {stay} stay on version {} (reasons above)", a.from, a.to, a.from);
        Ok(ExitCode::SUCCESS)
    })
}

/// One case, as a line: what happens to its tasks, or why it stays.
fn line(p: &Plan, run: bool) -> String {
    if !p.migratable {
        return format!("stays     {}  {}", p.case_no, p.reasons.join("; "));
    }
    let changes: Vec<String> = p
        .tasks
        .iter()
        .filter(|t| t.change != "kept")
        .map(|t| match t.change {
            "renamed" => format!("{} → {}", t.task, t.to.as_deref().unwrap_or_default()),
            "added" => format!("+{} ({})", t.task, t.after),
            _ => format!("-{}", t.task),
        })
        .collect();
    let kept = p.tasks.iter().filter(|t| t.change == "kept").count();
    format!(
        "{}  {}  {kept} kept; {}",
        if run { "migrated " } else { "would    " },
        p.case_no,
        if changes.is_empty() {
            "nothing else".to_owned()
        } else {
            changes.join(", ")
        }
    )
}
