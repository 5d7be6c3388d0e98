//! `yijian simulate SCRIPT [--bundles DIR] [--format table|json]`: a dry run of one case on
//! a scripted clock, with the real engine (in-memory store, manual clock; the run itself is
//! `yijian::simulate`, shared with the console's designer). The contract is
//! `docs/simulate.md`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use yijian::definitions::{CheckOptions, check_bytes};
use yijian::engine::calendar::Calendars;
use yijian::report;
use yijian::simulate::{BundleText, Script};

/// The folder of shipped bundles, relative to the working directory.
const CATALOG: &str = "definitions/catalog";

/// Runs a script and prints its timeline.
///
/// # Errors
/// An unreadable or invalid script (with line and column), a bundle that cannot be found
/// or does not check; the caller exits with code 2.
pub(crate) fn run(
    script: &Path,
    bundles: Option<&Path>,
    calendars: Option<&Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let origin = script.display().to_string();
    let mut cals = Calendars::builtin().context("the built-in calendars do not load")?;
    if let Some(dir) = calendars {
        cals.load_dir(dir)
            .with_context(|| format!("cannot load the calendars in {}", dir.display()))?;
    }
    let check = CheckOptions {
        calendars: cals.ids().map(|id| id.as_str().to_owned()).collect(),
        ..CheckOptions::default()
    };
    let text = std::fs::read_to_string(script).with_context(|| format!("cannot read {origin}"))?;
    let parsed = Script::parse(&text, &origin)?;
    let (texts, target) = if is_path(parsed.bundle()) {
        let base = script.parent().unwrap_or_else(|| Path::new("."));
        let file = base.join(parsed.bundle());
        let (line, column) = parsed.bundle_at();
        let text = bundle_file(&file, &check)
            .map_err(|e| anyhow::anyhow!("{origin}:{line}:{column}: {e:#}"))?;
        (vec![text], None)
    } else {
        let dir = match bundles {
            Some(d) => d.to_path_buf(),
            None => default_catalog(),
        };
        (bundle_dir(&dir)?, Some((parsed.bundle(), parsed.version())))
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let (line, column) = parsed.bundle_at();
    let place = format!("{origin}:{line}:{column}");
    let base = script.parent().unwrap_or_else(|| Path::new("."));
    let mut later = Vec::new();
    for name in parsed.migration_bundles() {
        let text = bundle_file(&base.join(name), &check)
            .map_err(|e| anyhow::anyhow!("{origin}: the `migrate` bundle {name}: {e:#}"))?;
        later.push((name.to_owned(), text));
    }
    let report = rt.block_on(yijian::simulate::run_with(
        &parsed, &texts, &later, target, cals, &place,
    ))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report.json)?);
    } else {
        print!("{}", report.table);
    }
    Ok(ExitCode::SUCCESS)
}

/// A `bundle:` naming a file rather than an id.
fn is_path(bundle: &str) -> bool {
    bundle.ends_with(".yaml") || bundle.ends_with(".yml") || bundle.contains(['/', '\\'])
}

/// `definitions/catalog` under the working directory, else the catalog of the source tree
/// this binary was built from.
fn default_catalog() -> PathBuf {
    let here = PathBuf::from(CATALOG);
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(CATALOG)
}

/// One bundle file, checked: errors are printed with their place and stop the run.
fn bundle_file(file: &Path, check: &CheckOptions) -> anyhow::Result<BundleText> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read bundle {name}"))?;
    let checked = check_bytes(&bytes, check);
    if checked.has_errors() {
        let text = String::from_utf8_lossy(&bytes);
        eprint!("{}", report::human(&name, &text, &checked.diagnostics));
        anyhow::bail!("{name}: the bundle has errors; `yijian check {name}` lists them");
    }
    Ok(BundleText {
        origin: name,
        yaml: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Every bundle file of a folder (searched recursively).
fn bundle_dir(dir: &Path) -> anyhow::Result<Vec<BundleText>> {
    let files = super::check::bundle_files(&[dir.to_path_buf()])
        .with_context(|| format!("cannot read the bundles folder {}", dir.display()))?;
    files
        .iter()
        .map(|f| {
            let yaml = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read bundle {}", f.display()))?;
            Ok(BundleText {
                origin: f.display().to_string(),
                yaml,
            })
        })
        .collect()
}
