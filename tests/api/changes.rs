//! Changing running cases over HTTP (docs/procedures.md "Changing a running case"): 退回 by
//! the department downstream, 加办 and its reverse at the window, 改派 by an operator. Each
//! refusal gives its coded error and leaves every row of the SQLite file as it was.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::catalogue::digest;
use super::server::{Server, enc, output_for, restaurant, status_of, token_configs};

/// A 二手房 transfer in 320102: the seller claims 满五唯一.
pub(super) fn house(key: &str) -> Value {
    json!({
        "bundle": "house-transfer",
        "region": "320102",
        "form": {
            "property_cert_no": "苏(2023)南京市不动产权第0000001号",
            "property_address": "南京市玄武区北京东路8号1幢101室",
            "floor_area": 89.5,
            "price": 3_200_000,
            "sellers": [{"name": "张三", "id_no": "320102198001011234"}],
            "buyers": [{"name": "李四", "id_no": "320102199202021234"}],
            "seller_only_home_5y": true
        },
        "materials": {"sale_contract": {"name": "contract.pdf", "sha256": "a".repeat(64)}},
        "idempotency_key": key
    })
}

pub(super) fn licence() -> Value {
    json!({"name": "licence.pdf", "uri": "https://files.example.invalid/l.pdf", "sha256": "b".repeat(64)})
}

/// Fetches `department`'s tasks until `task` of `case` comes: `(encoded id, lease, work)`.
pub(super) async fn take(
    server: &Server,
    department: &str,
    case: &str,
    task: &str,
) -> (String, u64, Value) {
    for _ in 0..20 {
        for t in server.fetch(department, 10, "1s").await {
            if t["case_no"] == case && t["task"] == task {
                let id = enc(t["task_id"].as_str().expect("id"));
                let lease = t["lease_token"].as_u64().expect("lease");
                return (id, lease, t);
            }
        }
    }
    panic!("{department} was never given {case}:{task}");
}

pub(super) async fn approve(
    server: &Server,
    department: &str,
    id: &str,
    lease: u64,
    output: Value,
) {
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/complete"),
            &server.dept(department),
            json!({"lease_token": lease, "decision": "approved", "output": output}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Sends `body` and asserts the coded refusal and that no row of the store changed.
async fn refused(server: &Server, path: &str, token: &str, body: Value, want: (u16, &str)) {
    let before = digest(server).await;
    let (s, v) = server.post(path, token, body).await;
    assert_eq!(
        (s.as_u16(), v["error"]["code"].as_str().unwrap_or("<none>")),
        want,
        "{path}: {v}"
    );
    assert!(v["error"]["message"].is_string(), "{v}");
    assert_eq!(
        digest(server).await,
        before,
        "{path} was refused but changed the store"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tax_result_sent_back_by_real_estate_is_redone_and_the_case_completes() {
    let server = Server::start().await;
    let (s, v) = server
        .post("/v1/cases", &server.tokens.window, house("send-back-1"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let case = v["case_no"].as_str().expect("case").to_owned();
    let (id, lease, _) = take(&server, "housing", &case, "contract_filing").await;
    approve(&server, "housing", &id, lease, json!({"filing_no": "WQ-1"})).await;
    let estate = server.dept("real_estate");
    let mut amount = 32_000;
    let (tax_id, lease, _) = take(&server, "tax", &case, "tax").await;
    approve(
        &server,
        "tax",
        &tax_id,
        lease,
        json!({"tax_amount": amount, "tax_receipt_pdf": licence()}),
    )
    .await;
    // `send_back: {max: 2}` on the tax task: twice, then refused.
    for round in 1..=3 {
        let (id, lease, _) = take(&server, "real_estate", &case, "transfer").await;
        let path = format!("/v1/tasks/{id}/send-back");
        refused(
            &server,
            &path,
            &estate,
            json!({"upstream": "water", "reason": "x", "lease_token": lease}),
            (422, "not_upstream"),
        )
        .await;
        refused(
            &server,
            &path,
            &estate,
            json!({"upstream": "tax", "reason": " ", "lease_token": lease}),
            (422, "reason_required"),
        )
        .await;
        let body = json!({"upstream": "tax", "reason": "登簿未满五年，不适用满五唯一", "lease_token": lease});
        if round == 3 {
            refused(&server, &path, &estate, body, (409, "send_back_limit")).await;
            approve(
                &server,
                "real_estate",
                &id,
                lease,
                json!({"new_cert_no": "苏(2026)0100001", "new_cert_pdf": licence()}),
            )
            .await;
            break;
        }
        let (s, v) = server.post(&path, &estate, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (v["task"].as_str(), v["status"].as_str()),
            (Some("tax"), Some("dispatched"))
        );
        let c = server.case(&case).await;
        assert_eq!(status_of(&c, "transfer"), "waiting", "{c:#}");
        assert_eq!(
            status_of(&c, "contract_filing"),
            "approved",
            "a result it did not use stands"
        );
        // The tax office gets it again, with the reason and what it decided before.
        let (id, lease, work) = take(&server, "tax", &case, "tax").await;
        assert_eq!(work["sent_back"]["by"], "transfer", "{work:#}");
        assert_eq!(work["sent_back"]["reason"], "登簿未满五年，不适用满五唯一");
        assert_eq!(work["sent_back"]["previous_output"]["tax_amount"], amount);
        amount += 32_000;
        approve(
            &server,
            "tax",
            &id,
            lease,
            json!({"tax_amount": amount, "tax_receipt_pdf": licence()}),
        )
        .await;
    }
    let c = server.case(&case).await;
    assert_eq!(c["status"], "completed", "{c:#}");
    let tax = c["tasks"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == "tax"))
        .expect("tax");
    assert_eq!(tax["send_backs"], 2, "{tax:#}");
    assert_eq!(tax["output"]["tax_amount"], 96_000);
    let events = server.events(&case).await;
    let sent: Vec<&Value> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event"] == "task_sent_back")
        .collect();
    assert_eq!(sent.len(), 2, "{events:#}");
    assert_eq!(sent[0]["actor"], "department:real_estate", "{:#}", sent[0]);
    assert_eq!(sent[0]["reason"], "登簿未满五年，不适用满五唯一");
    server.stop().await;
}

/// A restaurant without an outdoor sign.
fn no_sign(key: &str) -> Value {
    let mut app = restaurant(key);
    app["form"]["has_signboard"] = json!(false);
    if let Some(f) = app["form"].as_object_mut() {
        f.remove("signboard_size");
    }
    if let Some(m) = app["materials"].as_object_mut() {
        m.remove("signboard_design");
    }
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_adds_the_signboard_item_with_its_materials_and_removes_it_again() {
    let server = Server::start().await;
    let w = server.tokens.window.clone();
    let (s, v) = server.post("/v1/cases", &w, no_sign("add-item-1")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let cases = [v["case_no"].as_str().expect("case").to_owned()];
    let items = format!("/v1/cases/{}/items", cases[0]);
    let form = json!({"has_signboard": true, "signboard_size": "3m x 1m, 门楣"});
    refused(
        &server,
        &items,
        &w,
        json!({"task": "signboard", "form": form}),
        (422, "invalid_supply"),
    )
    .await;
    refused(
        &server,
        &items,
        &w,
        json!({"task": "signboard"}),
        (422, "item_not_applicable"),
    )
    .await;
    refused(
        &server,
        &items,
        &w,
        json!({"task": "food_permit", "form": form}),
        (409, "task_not_open"),
    )
    .await;
    let body = json!({"task": "signboard", "form": form,
                      "materials": {"signboard_design": {"name": "招牌效果图.png"}}});
    let (s, c) = server.post(&items, &w, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_ne!(status_of(&c, "signboard"), "skipped", "{c:#}");
    let events = server.events(&cases[0]).await;
    let added = events["events"]
        .as_array()
        .and_then(|es| es.iter().find(|e| e["event"] == "item_added"))
        .expect("item_added");
    assert_eq!(added["form"]["has_signboard"], true, "{added:#}");
    // Added twice: it is part of the case now.
    refused(&server, &items, &w, body, (409, "task_not_open")).await;
    // Removing: a house transfer's water transfer waits for the registration.
    let mut app = house("remove-item-1");
    app["form"]["transfer_water"] = json!(true);
    app["form"]["water_account"] = json!("SW-0001");
    let (s, v) = server.post("/v1/cases", &w, app).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let other = v["case_no"].as_str().expect("case").to_owned();
    assert_eq!(status_of(&server.case(&other).await, "water"), "waiting");
    let remove = format!("/v1/cases/{other}/items/water/remove");
    refused(
        &server,
        &remove,
        &w,
        json!({"reason": ""}),
        (422, "reason_required"),
    )
    .await;
    refused(
        &server,
        &format!("/v1/cases/{other}/items/transfer/remove"),
        &w,
        json!({"reason": "不办了"}),
        (409, "task_not_open"),
    )
    .await;
    let (s, c) = server
        .post(&remove, &w, json!({"reason": "申请人自行办理供水过户"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(status_of(&c, "water"), "skipped", "{c:#}");
    // And added back: its `when` is true already.
    let (s, c) = server
        .post(
            &format!("/v1/cases/{other}/items"),
            &w,
            json!({"task": "water"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(status_of(&c, "water"), "waiting", "{c:#}");
    // The first case's sign goes to 城管 (the licence check before it is decided by rule).
    let (_, _, work) = take(&server, "urban", &cases[0], "signboard").await;
    assert_eq!(work["input"]["size"], "3m x 1m, 门楣", "{work:#}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_reassigned_to_another_district_leaves_the_old_queue_and_keeps_its_clock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = [
        ("admin", "admin", None),
        ("window", "window", None),
        ("supervisor", "supervisor", None),
        ("supervisor-wuxi", "supervisor", Some("3202")),
        ("market-gulou", "department:market", Some("320106")),
        ("market-jianye", "department:market", Some("320105")),
    ];
    let mut server = Server::start_in(dir, |c| {
        c.tokens = token_configs(
            tokens
                .iter()
                .map(|(n, r, g)| (*n, *r, *g, format!("secret-{n}"))),
        );
    })
    .await;
    server.tokens.supervisor = "secret-supervisor".to_owned();
    let (s, v) = server
        .post(
            "/v1/cases",
            "secret-window",
            super::camunda_python::small_restaurant("reassign-1"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let case = v["case_no"].as_str().expect("case").to_owned();
    let task = enc(&format!("{case}:food_permit"));
    let path = format!("/v1/tasks/{task}/reassign");
    let before = server.case(&case).await;
    let due = |c: &Value| {
        c["tasks"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["name"] == "food_permit"))
            .map(|t| t["due"].clone())
    };
    let body = json!({"region": "320105", "reason": "经营场所位于建邺区，属地有误"});
    refused(
        &server,
        &path,
        "secret-supervisor-wuxi",
        body.clone(),
        (403, "outside_region"),
    )
    .await;
    refused(
        &server,
        &path,
        "secret-market-gulou",
        body.clone(),
        (403, "forbidden"),
    )
    .await;
    refused(
        &server,
        &path,
        "secret-admin",
        json!({"region": "320106", "reason": "x"}),
        (422, "same_region"),
    )
    .await;
    refused(
        &server,
        &path,
        "secret-admin",
        json!({"region": "32x", "reason": "x"}),
        (400, "invalid_body"),
    )
    .await;
    let (s, v) = server.post(&path, "secret-admin", body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let after = server.case(&case).await;
    assert_eq!(due(&after), due(&before), "the clock runs on: {after:#}");
    // 鼓楼's market office no longer gets it nor may answer it; 建邺's does.
    let fetch = |token: &'static str| {
        let server = &server;
        async move {
            let (s, v) = server
                .post(
                    "/v1/departments/market/tasks/fetch",
                    token,
                    json!({"max": 10, "lease": "5m", "wait": "1s", "worker": token}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["tasks"].as_array().cloned().unwrap_or_default()
        }
    };
    let gulou = fetch("secret-market-gulou").await;
    assert!(
        gulou.iter().all(|t| t["task"] != "food_permit"),
        "{gulou:?}"
    );
    let done = json!({"decision": "approved", "output": output_for("food_permit")});
    refused(
        &server,
        &format!("/v1/tasks/{task}/complete"),
        "secret-market-gulou",
        done.clone(),
        (403, "outside_region"),
    )
    .await;
    let jianye = fetch("secret-market-jianye").await;
    let work = jianye
        .iter()
        .find(|t| t["task"] == "food_permit")
        .unwrap_or_else(|| panic!("建邺 gets the reassigned task: {jianye:?}"));
    let mut done = done;
    done["lease_token"] = work["lease_token"].clone();
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{task}/complete"),
            "secret-market-jianye",
            done,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let c = server.case(&case).await;
    assert_eq!(status_of(&c, "food_permit"), "approved", "{c:#}");
    let events = server.events(&case).await;
    let moved = events["events"]
        .as_array()
        .and_then(|es| es.iter().find(|e| e["event"] == "task_reassigned"))
        .expect("task_reassigned");
    assert_eq!(moved["actor"], "operator:admin", "{moved:#}");
    assert_eq!(moved["from"], "320106");
    assert_eq!(moved["region"], "320105");
    server.stop().await;
}
