//! `yijian guide FILE --format html|markdown [--out FILE]`: the 办事指南 of a bundle,
//! generated from the same compiled blueprint the engine runs.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use yijian::definitions::guide::{Guide, render_html, render_markdown};
use yijian::definitions::{CheckOptions, check_bytes};
use yijian::report;

pub(crate) fn run(file: &Path, html: bool, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let checked = check_bytes(&bytes, &CheckOptions::default());
    let name = file.display().to_string();
    let Some(bp) = &checked.blueprint else {
        eprint!(
            "{}",
            report::human(
                &name,
                &String::from_utf8_lossy(&bytes),
                &checked.diagnostics
            )
        );
        eprintln!("{name}: cannot write the guide of a bundle with errors");
        return Ok(ExitCode::from(1));
    };
    let guide = Guide::of(bp);
    let text = if html {
        render_html(&guide)
    } else {
        render_markdown(&guide)
    };
    match out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
