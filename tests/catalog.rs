//! The shipped catalog (`definitions/catalog/`) is the product's own fixture set.

use yijian::definitions::{CheckOptions, GraphFormat, Severity, check_bytes, render};

fn catalog_files() -> Vec<std::path::PathBuf> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/definitions/catalog");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("catalog folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_catalog_bundle_checks_without_errors() {
    let files = catalog_files();
    assert!(
        files.len() >= 8,
        "the catalog ships at least the 8 bundles of domain.md"
    );
    for file in files {
        let checked = check_bytes(
            &std::fs::read(&file).expect("readable"),
            &CheckOptions::default(),
        );
        let errors: Vec<String> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
        let bp = checked.blueprint.expect("compiled");
        let mermaid = render(&bp, GraphFormat::Mermaid);
        assert!(mermaid.starts_with("flowchart TD\n"));
        for t in &bp.tasks {
            assert!(
                mermaid.contains(&format!("  {}", t.id)),
                "{} missing from the picture",
                t.id
            );
        }
        assert!(render(&bp, GraphFormat::Dot).starts_with("digraph "));
    }
}
