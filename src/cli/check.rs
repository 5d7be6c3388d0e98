//! `yijian check PATH...`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use yijian::definitions::{CheckOptions, Severity, check_bytes};
use yijian::report::{self, FileReport};

/// Every bundle file named, folders searched recursively, in a stable order.
pub(crate) fn bundle_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_dir() {
            collect(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
    Ok(())
}

pub(crate) fn run(
    paths: &[PathBuf],
    json: bool,
    deny_warnings: bool,
    calendars: Vec<String>,
) -> anyhow::Result<ExitCode> {
    let mut options = CheckOptions::default();
    if !calendars.is_empty() {
        options.calendars = calendars;
    }
    let files = bundle_files(paths)?;
    if files.is_empty() {
        anyhow::bail!(
            "no *.yaml or *.yml files under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let (mut errors, mut warnings) = (0, 0);
    let mut results = Vec::new();
    for file in &files {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let checked = check_bytes(&bytes, &options);
        errors += checked.count(Severity::Error);
        warnings += checked.count(Severity::Warning);
        results.push((
            file.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
            checked,
        ));
    }
    if json {
        let reports: Vec<FileReport<'_>> = results
            .iter()
            .map(|(f, _, c)| FileReport {
                file: f,
                diagnostics: &c.diagnostics,
            })
            .collect();
        let doc = serde_json::json!({"files": reports, "errors": errors, "warnings": warnings});
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for (file, source, checked) in &results {
            print!("{}", report::human(file, source, &checked.diagnostics));
            if !checked.has_errors() {
                let bp = checked.blueprint.as_ref();
                println!(
                    "ok  {file}: {} v{}, {} tasks{}",
                    bp.map_or("?", |b| &*b.id),
                    bp.map_or(0, |b| b.version),
                    bp.map_or(0, |b| b.tasks.len()),
                    match checked.count(Severity::Warning) {
                        0 => String::new(),
                        n => format!(", {n} warning(s)"),
                    }
                );
            }
        }
        println!(
            "checked {} file(s): {errors} error(s), {warnings} warning(s)",
            files.len()
        );
    }
    Ok(if errors > 0 || (deny_warnings && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
