//! `yijian graph FILE --format mermaid|dot`

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use yijian::definitions::{CheckOptions, GraphFormat, check_bytes, render};
use yijian::report;

pub(crate) fn run(file: &Path, format: GraphFormat) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let checked = check_bytes(&bytes, &CheckOptions::default());
    let name = file.display().to_string();
    match &checked.blueprint {
        Some(bp) => {
            print!("{}", render(bp, format));
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprint!(
                "{}",
                report::human(
                    &name,
                    &String::from_utf8_lossy(&bytes),
                    &checked.diagnostics
                )
            );
            eprintln!("{name}: cannot draw a bundle with errors");
            Ok(ExitCode::from(1))
        }
    }
}
