//! `yijian simulate` scripts that change running cases (docs/procedures.md "Changing a
//! running case"): 退回, 加办 and its reverse, 改派. The dates are counted by hand in each
//! script's header on the 2026 calendar; a refused step is a `rejected` entry with its
//! code, and nothing else happens at that instant.

use serde_json::Value;

use super::simulate::{bj, due, entries, one, run, scenario, task};

/// The entries at `at` (Beijing time) — a refused step must be alone at its instant.
fn at<'a>(doc: &'a Value, at: &str) -> Vec<&'a Value> {
    let at = bj(at);
    doc["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter(|e| e["at"] == at.as_str())
        .collect()
}

fn dispatches<'a>(doc: &'a Value, name: &str) -> Vec<(&'a str, &'a str)> {
    entries(doc, "task_dispatched", Some(name))
        .iter()
        .map(|e| {
            (
                e["at"].as_str().unwrap_or_default(),
                e["due"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

/// A refused step: its code, and nothing else at its instant.
fn refused(doc: &Value, instant: &str, name: &str, code: &str) {
    let here = at(doc, instant);
    assert!(
        here.iter().all(|e| e["event"] == "rejected"),
        "a refusal at {instant} changed the case: {here:#?}"
    );
    let hit = here.iter().find(|e| {
        e.get("task").map_or(name.is_empty(), |t| t == name) && e["detail"]["code"] == code
    });
    assert!(
        hit.is_some(),
        "no `{code}` for {name} at {instant}: {here:#?}"
    );
}

#[test]
fn the_tax_result_sent_back_by_real_estate_is_redone_on_the_calendar() {
    let doc = run("examples/simulate/house-transfer-send-back.yaml");
    let sent = one(&doc, "task_sent_back", Some("tax"));
    assert_eq!(sent["at"], bj("2026-11-03T10:00:00"));
    assert_eq!(sent["detail"]["by"], "transfer");
    assert_eq!(sent["detail"]["actor"], "department:real_estate");
    assert_eq!(sent["detail"]["previous_output"]["tax_amount"], 32000);
    assert!(
        sent["detail"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("满五唯一"))
    );
    // Redone: due Wed 11-04 (the Tuesday it stood approved is excluded).
    assert_eq!(
        dispatches(&doc, "tax"),
        [
            (
                bj("2026-11-02T11:00:00").as_str(),
                due("2026-11-03").as_str()
            ),
            (
                bj("2026-11-03T10:00:00").as_str(),
                due("2026-11-04").as_str()
            ),
        ]
    );
    // The registration waits again, its clock paused from Tue 10:00 to Wed 10:00.
    let held = one(&doc, "task_held", Some("transfer"));
    assert_eq!(held["at"], bj("2026-11-03T10:00:00"));
    assert_eq!(held["detail"]["upstream"], "tax");
    assert_eq!(
        dispatches(&doc, "transfer"),
        [
            (
                bj("2026-11-02T15:00:00").as_str(),
                due("2026-11-05").as_str()
            ),
            (
                bj("2026-11-04T10:00:00").as_str(),
                due("2026-11-06").as_str()
            ),
        ]
    );
    // The contract filing, which did not use the tax result, was decided once.
    assert_eq!(dispatches(&doc, "contract_filing").len(), 1);
    assert_eq!(task(&doc, "tax")["send_backs"], 1);
    assert_eq!(task(&doc, "tax")["status"], "approved");
    assert_eq!(doc["case"]["outcome"], "completed");
}

#[test]
fn send_backs_past_the_bound_or_to_a_task_not_upstream_are_refused() {
    let doc = scenario("send-back-refused");
    refused(&doc, "2026-11-03T09:00:00", "water", "not_upstream");
    refused(&doc, "2026-11-03T09:00:00", "tax", "task_not_open");
    refused(&doc, "2026-11-04T14:00:00", "tax", "send_back_limit");
    assert_eq!(entries(&doc, "task_sent_back", Some("tax")).len(), 2);
    let tax: Vec<&str> = dispatches(&doc, "tax").iter().map(|d| d.1).collect();
    assert_eq!(
        tax,
        [due("2026-11-03"), due("2026-11-04"), due("2026-11-05")]
    );
    let transfer: Vec<&str> = dispatches(&doc, "transfer").iter().map(|d| d.1).collect();
    assert_eq!(transfer, vec![due("2026-11-05"); 3]);
    assert_eq!(task(&doc, "tax")["send_backs"], 2);
    assert_eq!(task(&doc, "transfer")["status"], "dispatched");
}

#[test]
fn the_housing_fund_and_the_bank_are_added_after_submission() {
    let doc = run("examples/simulate/company-setup-add-item.yaml");
    let fund = one(&doc, "item_added", Some("housing_fund"));
    assert_eq!(fund["at"], bj("2026-11-02T10:00:00"));
    // Added while waiting for the licence: it starts with the others after it.
    assert_eq!(
        dispatches(&doc, "housing_fund"),
        [(
            bj("2026-11-02T14:00:00").as_str(),
            due("2026-11-03").as_str()
        )]
    );
    // The bank had been skipped: it starts at once, its 1 WD counted from the addition.
    let bank = one(&doc, "item_added", Some("bank"));
    assert_eq!(bank["at"], bj("2026-11-03T11:00:00"));
    assert_eq!(
        dispatches(&doc, "bank"),
        [(
            bj("2026-11-03T11:00:00").as_str(),
            due("2026-11-04").as_str()
        )]
    );
    assert_eq!(doc["case"]["outcome"], "completed");
    assert_eq!(task(&doc, "bank")["status"], "approved");
    assert_eq!(task(&doc, "housing_fund")["status"], "approved");
    assert!(entries(&doc, "rejected", None).is_empty());
}

#[test]
fn an_item_without_its_materials_or_condition_is_not_added() {
    let doc = scenario("add-item-refused");
    refused(
        &doc,
        "2026-11-02T10:00:00",
        "signboard",
        "item_not_applicable",
    );
    refused(&doc, "2026-11-02T10:30:00", "signboard", "invalid_supply");
    refused(&doc, "2026-11-02T11:00:00", "food_permit", "task_not_open");
    refused(&doc, "2026-11-02T15:00:00", "signboard", "task_not_open");
    one(&doc, "item_added", Some("signboard"));
    assert_eq!(
        dispatches(&doc, "signboard"),
        [(
            bj("2026-11-02T14:00:00").as_str(),
            due("2026-11-05").as_str()
        )]
    );
}

#[test]
fn a_reassigned_task_keeps_its_clock() {
    let doc = run("examples/simulate/house-transfer-reassign.yaml");
    let moved = one(&doc, "task_reassigned", Some("contract_filing"));
    assert_eq!(moved["detail"]["from"], "320102");
    assert_eq!(moved["detail"]["region"], "320104");
    assert_eq!(moved["detail"]["actor"], "operator:operator");
    assert_eq!(
        dispatches(&doc, "contract_filing"),
        [(
            bj("2026-11-02T09:00:00").as_str(),
            due("2026-11-03").as_str()
        )]
    );
    assert_eq!(task(&doc, "contract_filing")["region"], "320104");
    assert_eq!(task(&doc, "contract_filing")["status"], "approved");
}

#[test]
fn a_case_migrated_to_version_2_goes_on_under_it() {
    let doc = run("examples/simulate/house-transfer-migrate.yaml");
    refused(&doc, "2026-11-02T10:00:00", "", "not_migratable");
    let moved = one(&doc, "case_migrated", Some(""));
    assert_eq!(moved["at"], bj("2026-11-02T14:00:00"));
    assert_eq!(
        (
            moved["detail"]["from"].as_u64(),
            moved["detail"]["to"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(moved["detail"]["kept"]["water"], "water_supply");
    assert_eq!(moved["detail"]["removed"][0], "broadband");
    // 8 WD from Mon 11-02; the statutory due not shortened to version 2's 20 WD.
    assert_eq!(moved["due"], due("2026-11-12"));
    assert_eq!(moved["detail"]["statutory_due"], due("2026-12-14"));
    // The tax dispatched before keeps its clock; what starts after runs on version 2.
    assert_eq!(
        dispatches(&doc, "tax"),
        [(
            bj("2026-11-02T11:00:00").as_str(),
            due("2026-11-03").as_str()
        )]
    );
    assert_eq!(
        dispatches(&doc, "tax_archive"),
        [(
            bj("2026-11-03T10:00:00").as_str(),
            due("2026-11-05").as_str()
        )]
    );
    assert_eq!(
        dispatches(&doc, "transfer"),
        [(
            bj("2026-11-03T10:00:00").as_str(),
            due("2026-11-10").as_str()
        )]
    );
    assert_eq!(dispatches(&doc, "water_supply").len(), 1);
    assert_eq!(doc["case"]["version"], 2);
    assert_eq!(doc["case"]["outcome"], "completed");
    assert_eq!(task(&doc, "water_supply")["status"], "approved");
}
