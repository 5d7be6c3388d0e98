//! Embed the engine: run one 开办餐饮店 (open a restaurant) case in-process.
//!
//! Run with: `cargo run --example embed`
//!
//! Loads the shipped catalog bundle, registers one in-process adapter per department with
//! simple decisions, submits one application, and prints the timeline of events, the
//! outcome of each task and the merged documents.

use std::sync::Arc;

use serde_json::json;
use yijian::adapters::in_process::InProcess;
use yijian::engine::{Decision, Engine, MaterialRef, MemoryStore, Submission, SubmitRequest};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let engine = Engine::builder(MemoryStore::new()).build().await?;
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/definitions/catalog/open-restaurant.yaml"
    ))?;
    let deployed = engine.deploy(&yaml).await?;
    println!(
        "deployed {} v{} ({} tasks)",
        deployed.id,
        deployed.version,
        deployed.blueprint.tasks.len()
    );

    // One back office per department, deciding at once.
    let licence = |name: &str| json!({"name": name, "uri": format!("https://licences.example/{name}"), "sha256": ""});
    engine.register_adapter(
        "market",
        Arc::new(InProcess::new(move |_| Decision::Approve(json!({"permit_no": "JY13201020000001", "food_permit_pdf": licence("food-permit.pdf")})))),
    );
    engine.register_adapter(
        "fire",
        Arc::new(InProcess::new(|_| {
            Decision::Approve(json!({"fire_permit_no": "XF-2026-0918"}))
        })),
    );
    engine.register_adapter(
        "urban",
        Arc::new(InProcess::new(|w| {
            // The city refuses signs wider than 5 m.
            if w.input["size"].as_str().is_some_and(|s| s.starts_with('6')) {
                Decision::Refuse("招牌尺寸超过5米，不符合街区规划".into())
            } else {
                Decision::Approve(json!({"signboard_no": "ZP-2026-001"}))
            }
        })),
    );

    let file = |name: &str| MaterialRef {
        name: name.into(),
        sha256: String::new(),
        uri: Some(format!("https://files.example/{name}")),
    };
    let mut submission = Submission {
        region: "320102".into(),
        form: json!({
            "uscc": "91320102MA1XXXXX0A",
            "shop_name": "张记小馆",
            "address": "南京市玄武区珠江路1号",
            "operator_name": "张三",
            "floor_area": 320,
            "food_categories": [{"category": "hot_food"}],
            "has_signboard": true,
            "signboard_size": "3m×1m",
            "partners": [{"name": "李四", "id_no": "32010219900101123X"}]
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
        ..Submission::default()
    };
    for m in [
        "lease",
        "floor_plan",
        "food_safety_rules",
        "fire_commitment",
        "fire_layout",
        "signboard_design",
    ] {
        submission
            .materials
            .insert(m.into(), file(&format!("{m}.pdf")));
    }
    let case = engine
        .submit(SubmitRequest {
            bundle: "open-restaurant".into(),
            submission,
            ..SubmitRequest::default()
        })
        .await?;

    println!("\ncase {}: {}\n\ntimeline:", case.case_no, case.status);
    let bp = &deployed.blueprint;
    for e in engine.events(&case.case_no).await? {
        let task = e.kind.task().map(|t| t.name(bp)).unwrap_or_default();
        println!(
            "  {}  {:<22} {:<16} {}  {}",
            e.at,
            e.kind.name(),
            task,
            e.actor,
            e.reason.unwrap_or_default()
        );
    }
    println!("\ntasks:");
    for t in &case.tasks {
        println!(
            "  {:<16} {:<10} {:<20} {}",
            t.name,
            t.department,
            t.status.as_str(),
            t.reason.clone().unwrap_or_default()
        );
    }
    println!("\noutcome: {}", case.outcome.as_deref().unwrap_or("open"));
    println!(
        "documents: {}",
        serde_json::to_string_pretty(&case.documents)?
    );
    Ok(())
}
