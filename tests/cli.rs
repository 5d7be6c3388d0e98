//! The `yijian` command, run as a process.

use std::process::Command;

fn yijian(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_yijian"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run yijian");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_passes_the_catalog() {
    let (code, out, _) = yijian(&["check", "definitions/catalog"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 error(s)"), "{out}");
}

#[test]
fn check_fails_with_exit_1_and_points_at_the_problem() {
    let dir = std::env::temp_dir().join(format!("yijian-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "yijian: 1\nid: bad\nversion: 1\ntitle: t\ntime_limit: 1wd\ntasks:\n  a: {title: A, deparment: market}\n",
    )
    .unwrap();
    let (code, out, _) = yijian(&["check", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("YJ102"), "{out}");
    assert!(out.contains("did you mean `department`?"), "{out}");
    let (code, json, _) = yijian(&["check", "--format", "json", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let d = &doc["files"][0]["diagnostics"];
    assert!(
        d.as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "YJ102" && d["line"] == 7 && d["column"] == 17),
        "{d}"
    );
}

#[test]
fn graph_prints_a_mermaid_flowchart() {
    let (code, out, err) = yijian(&[
        "graph",
        "definitions/catalog/open-restaurant.yaml",
        "--format",
        "mermaid",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("flowchart TD"));
    assert!(out.contains("-->"));
}

#[test]
fn schema_is_the_committed_file() {
    let (code, out, _) = yijian(&["schema"]);
    assert_eq!(code, 0);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/definitions/bundle.schema.json"
    ))
    .unwrap();
    assert_eq!(out, committed);
}

#[test]
fn audit_verify_names_a_tampered_event() {
    use yijian::engine::{Engine, Submission, SubmitRequest};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let case_no = rt.block_on(async {
        let store = yijian_store_sql::SqlStore::connect(&url).await.unwrap();
        let engine = Engine::builder(store).build().await.unwrap();
        engine
            .deploy("yijian: 1\nid: a\nversion: 1\ntitle: t\ntime_limit: 1wd\ntasks:\n  x: {title: X, department: market}\n")
            .await
            .unwrap();
        let case = engine
            .submit(SubmitRequest { bundle: "a".into(), submission: Submission::default(), ..SubmitRequest::default() })
            .await
            .unwrap();
        engine.shutdown().await;
        case.case_no.to_string()
    });
    drop(rt);
    let (code, out, err) = yijian(&["audit", "verify", "--db", &url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ok"), "{out}");
    // Edit a row directly, as an insider with database access would.
    let edited = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(format!("UPDATE events SET body = replace(body, 'case_accepted', 'case_accepted ') WHERE case_no = '{case_no}' AND seq = 2;"))
        .status();
    match edited {
        Ok(s) if s.success() => {
            let (code, out, _) = yijian(&["audit", "verify", &case_no, "--db", &url]);
            assert_eq!(code, 1, "{out}");
            assert!(
                out.contains(&format!("BROKEN  case {case_no} event 2")),
                "{out}"
            );
        }
        _ => println!(
            "sqlite3 is not installed: the tampering half is covered by yijian-store-sql's tests"
        ),
    }
}

#[test]
fn guide_writes_html_and_markdown_and_refuses_a_broken_bundle() {
    let (code, html, err) = yijian(&["guide", "definitions/catalog/newborn.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        html.starts_with("<!doctype html>") && html.contains("办事指南"),
        "{html}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("guide.md");
    let out_arg = out.display().to_string();
    let (code, stdout, err) = yijian(&[
        "guide",
        "definitions/catalog/newborn.yaml",
        "--format",
        "markdown",
        "--out",
        &out_arg,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.is_empty(), "written to the file, not printed");
    let md = std::fs::read_to_string(&out).expect("written");
    assert!(md.starts_with("# ") && md.contains("## 申请材料"), "{md}");
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "yijian: 1\nid: x\nversion: 1\ntitle: x\ntasks: {}\n",
    )
    .expect("write");
    let (code, _, err) = yijian(&["guide", &broken.display().to_string()]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot write the guide"), "{err}");
}
