//! Migrating running cases over HTTP (docs/procedures.md "Migrating running cases"): a
//! second version of the shipped 二手房 bundle, four cases in different places, a dry run
//! that changes nothing, a real run that does exactly what the dry run said, and a second
//! run that moves nothing twice.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::catalogue::digest;
use super::changes::{approve, house, licence};
use super::server::{Server, status_of};

/// Version 2 of house-transfer (examples/simulate/house-transfer-v2.yaml): longer bundle
/// promise, a shorter statutory limit (never applied to an accepted case), `water` renamed
/// `water_supply`, `broadband` dropped, the registration's promise 3 → 5 WD, and a new
/// `tax_archive` reading a new tax output.
pub(crate) fn house_v2() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/simulate/house-transfer-v2.yaml");
    std::fs::read_to_string(path).expect("examples/simulate/house-transfer-v2.yaml")
}

pub(super) async fn deploy(server: &Server, yaml: String) {
    let res = server
        .client
        .post(format!("{}/v1/bundles", server.base))
        .bearer_auth(&server.tokens.admin)
        .header("content-type", "application/yaml")
        .body(yaml)
        .send()
        .await
        .expect("sent");
    let status = res.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        res.text().await.unwrap_or_default()
    );
}

async fn submit(server: &Server, key: &str, extra: Value) -> String {
    let mut app = house(key);
    if let (Some(form), Some(more)) = (app["form"].as_object_mut(), extra.as_object()) {
        form.extend(more.clone());
    }
    let (s, v) = server.post("/v1/cases", &server.tokens.window, app).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["case_no"].as_str().expect("case").to_owned()
}

/// Fetches with a 1 s lease until `task` of `case` comes (other cases' tasks taken on the
/// way are free again a second later) and approves it; answers the work.
async fn decide(server: &Server, case: &str, department: &str, task: &str, output: Value) -> Value {
    for _ in 0..30 {
        let (s, v) = server
            .post(
                &format!("/v1/departments/{department}/tasks/fetch"),
                &server.dept(department),
                json!({"max": 10, "lease": "1s", "wait": "1s"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        for t in v["tasks"].as_array().cloned().unwrap_or_default() {
            if t["case_no"] == case && t["task"] == task {
                let id = super::server::enc(t["task_id"].as_str().expect("id"));
                let lease = t["lease_token"].as_u64().expect("lease");
                if !output.is_null() {
                    approve(server, department, &id, lease, output).await;
                }
                return t;
            }
        }
    }
    panic!("{department} was never given {case}:{task}");
}

fn case_of<'a>(answer: &'a Value, case: &str) -> &'a Value {
    answer["cases"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["case_no"] == case))
        .unwrap_or_else(|| panic!("{case} not in {answer:#}"))
}

fn fate(plan: &Value) -> Vec<(String, String, String, String)> {
    plan["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
            (s("task"), s("change"), s("after"), s("clock"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_is_the_real_run_and_a_second_run_moves_nothing_twice() {
    migration_run(Server::start().await, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_is_the_real_run_and_a_second_run_moves_nothing_twice_on_postgres() {
    if let Some(server) = Server::postgres("migrations_on_postgres").await {
        migration_run(server, false).await;
    }
}

/// Every case's events and view: what a dry run must leave as it was (on any store).
async fn snapshot(server: &Server, cases: &[&String]) -> Vec<Value> {
    let mut out = Vec::new();
    for c in cases {
        out.push(server.events(c).await);
        out.push(server.case(c).await);
    }
    out
}

/// The rows of the SQLite file when there is one, else nothing.
async fn rows(server: &Server, sqlite: bool) -> Option<String> {
    if sqlite {
        Some(digest(server).await)
    } else {
        None
    }
}

async fn migration_run(server: Server, sqlite: bool) {
    // A: just accepted. B: registered, its broadband transfer (gone in v2) dispatched.
    // E: taxed (its output has no `tax_no`, which v2's new archive task reads). C: closed.
    let a = submit(&server, "mig-a", json!({})).await;
    let b = submit(
        &server,
        "mig-b",
        json!({"transfer_broadband": true, "broadband_account": "KD-1"}),
    )
    .await;
    let e = submit(&server, "mig-e", json!({})).await;
    let c = submit(&server, "mig-c", json!({})).await;
    let tax = json!({"tax_amount": 32_000, "tax_receipt_pdf": licence()});
    for case in [&b, &e] {
        decide(
            &server,
            case,
            "housing",
            "contract_filing",
            json!({"filing_no": "WQ"}),
        )
        .await;
        decide(&server, case, "tax", "tax", tax.clone()).await;
    }
    decide(
        &server,
        &b,
        "real_estate",
        "transfer",
        json!({"new_cert_no": "苏(2026)1", "new_cert_pdf": licence()}),
    )
    .await;
    assert_eq!(status_of(&server.case(&b).await, "broadband"), "dispatched");
    let (s, v) = server
        .post(
            &format!("/v1/cases/{c}/withdraw"),
            &server.tokens.window,
            json!({"reason": "不卖了"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Version 2 is deployed while they run: new cases take it, these stay on version 1.
    deploy(&server, house_v2()).await;
    let admin = server.tokens.admin.clone();
    let path = "/v1/bundles/house-transfer/migrations";
    let body = |dry: bool| {
        json!({"from_version": 1, "to_version": 2, "mapping": {"water": "water_supply"},
               "dry_run": dry, "reason": "2026 年新版办事指南"})
    };
    // A mapping onto nothing is refused before any case is looked at.
    let before = (
        rows(&server, sqlite).await,
        snapshot(&server, &[&a, &b, &c, &e]).await,
    );
    let (s, v) = server
        .post(
            path,
            &admin,
            json!({"from_version": 1, "to_version": 2, "mapping": {"water": "nonesuch"}}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v["error"]["code"].as_str()),
        (422, Some("invalid_mapping")),
        "{v}"
    );
    let (s, dry) = server.post(path, &admin, body(true)).await;
    assert_eq!(s, StatusCode::OK, "{dry}");
    let after = (
        rows(&server, sqlite).await,
        snapshot(&server, &[&a, &b, &c, &e]).await,
    );
    assert_eq!(
        after, before,
        "a refused mapping and a dry run change nothing"
    );
    assert_eq!(
        (dry["migratable"].as_u64(), dry["not_migratable"].as_u64()),
        (Some(1), Some(2)),
        "{dry:#}"
    );
    assert!(
        dry["cases"]
            .as_array()
            .is_some_and(|cs| cs.iter().all(|x| x["case_no"] != c.as_str())),
        "closed cases are not candidates"
    );
    let plan_a = case_of(&dry, &a);
    let s = |x: &str| x.to_owned();
    assert_eq!(
        fate(plan_a),
        [
            (s("contract_filing"), s("kept"), s("dispatched"), s("kept")),
            (s("tax"), s("kept"), s("waiting"), s("new")),
            (s("transfer"), s("kept"), s("waiting"), s("new")),
            (s("mortgage"), s("kept"), s("waiting"), s("new")),
            (s("water"), s("renamed"), s("waiting"), s("new")),
            (s("power"), s("kept"), s("waiting"), s("new")),
            (s("gas"), s("kept"), s("waiting"), s("new")),
            (s("broadband"), s("removed"), s("removed"), s("kept")),
            (s("tax_archive"), s("added"), s("waiting"), s("new")),
        ],
        "{plan_a:#}"
    );
    let transfer = &plan_a["tasks"][2];
    assert_eq!(
        (transfer["time_limit"].as_str(), transfer["was"].as_str()),
        (Some("5wd"), Some("3wd"))
    );
    // The promise follows the new version (6 → 8 WD); the statutory limit is not shortened.
    assert!(
        plan_a["due"]["after"].as_str() > plan_a["due"]["before"].as_str(),
        "{plan_a:#}"
    );
    assert_eq!(
        plan_a["statutory_due"]["after"],
        plan_a["statutory_due"]["before"]
    );
    let reasons = |case: &str| case_of(&dry, case)["reasons"].to_string();
    assert!(
        reasons(&b).contains("task `broadband` is dispatched"),
        "{}",
        reasons(&b)
    );
    assert!(
        reasons(&b).contains("tasks.tax.output.tax_no"),
        "{}",
        reasons(&b)
    );
    assert!(
        reasons(&e).contains("tasks.tax.output.tax_no"),
        "{}",
        reasons(&e)
    );
    assert!(!reasons(&e).contains("broadband"), "{}", reasons(&e));
    // The real run does exactly what the dry run said, and leaves B and E as they were.
    let b_before = server.events(&b).await;
    let (s, real) = server.post(path, &admin, body(false)).await;
    assert_eq!(s, StatusCode::OK, "{real}");
    assert_eq!(
        real["cases"], dry["cases"],
        "the real run differs from its dry run"
    );
    assert_eq!(real["dry_run"], false);
    let after = server.case(&a).await;
    assert_eq!(after["version"], 2, "{after:#}");
    assert_eq!(status_of(&after, "water_supply"), "waiting");
    assert_eq!(status_of(&after, "broadband"), "absent");
    assert_eq!(
        server.case(&b).await["version"],
        1,
        "B stays pinned to version 1"
    );
    assert_eq!(
        server.events(&b).await,
        b_before,
        "a case that cannot move is unchanged"
    );
    assert_eq!(
        case_of(&real, &b)["error"]["code"],
        "not_migratable",
        "{real:#}"
    );
    // Named explicitly, a closed case is answered with its reason and left alone.
    let (s, closed) = server
        .post(
            path,
            &admin,
            json!({"from_version": 1, "to_version": 2, "cases": [c], "dry_run": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{closed}");
    assert!(
        case_of(&closed, &c)["reasons"]
            .to_string()
            .contains("closed"),
        "{closed:#}"
    );
    // Again: nothing is moved twice (A runs version 2 now; B and E still cannot move).
    let (s, again) = server.post(path, &admin, body(false)).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(
        (
            again["migratable"].as_u64(),
            again["not_migratable"].as_u64()
        ),
        (Some(0), Some(2)),
        "{again:#}"
    );
    let events = server.events(&a).await;
    let migrated: Vec<&Value> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|x| x["event"] == "case_migrated")
        .collect();
    assert_eq!(migrated.len(), 1, "{events:#}");
    assert_eq!(migrated[0]["actor"], "operator:dev-admin");
    assert_eq!(migrated[0]["reason"], "2026 年新版办事指南");
    // The case goes on under version 2: its events name tasks in the version of each.
    decide(
        &server,
        &a,
        "housing",
        "contract_filing",
        json!({"filing_no": "WQ-A"}),
    )
    .await;
    let work = decide(&server, &a, "tax", "tax", Value::Null).await;
    assert_eq!(work["version"], 2, "{work:#}");
    let events = server.events(&a).await;
    let names: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|x| x["event"] == "task_dispatched")
        .filter_map(|x| x["task"].as_str())
        .collect();
    assert_eq!(names, ["contract_filing", "tax"], "{events:#}");
    server.stop().await;
}

/// The form of the 二手房 application the migration tests submit.
pub(crate) fn house_v2_application() -> serde_json::Map<String, Value> {
    house("form")["form"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}
