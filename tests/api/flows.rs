//! Whole cases over HTTP: departments polling concurrently, supplements, withdrawals,
//! evaluations, proposals, incidents, region scopes, leases across a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::server::{Server, enc, output_for, restaurant, status_of, token_configs};

/// The base name of a unit: `partner_check[0]` → `partner_check`, `x.verify` → `x`.
fn base(name: &str) -> &str {
    name.split(['[', '.']).next().unwrap_or(name)
}

/// A back office: fetches (long polling), accepts, decides; asks once for a supplement of
/// `food_permit` when `supplement` is set. Returns the units it approved.
async fn back_office(
    server: Arc<Server>,
    dep: &'static str,
    stop: Arc<AtomicBool>,
    supplement: bool,
) -> Vec<String> {
    let token = server.dept(dep);
    let mut asked = false;
    let mut approved = Vec::new();
    while !stop.load(Ordering::Acquire) {
        for t in server.fetch(dep, 10, "1s").await {
            let id = enc(t["task_id"].as_str().expect("task_id"));
            let lease = t["lease_token"].clone();
            let (s, v) = server
                .post(
                    &format!("/v1/tasks/{id}/accept"),
                    &token,
                    json!({"lease_token": lease, "receipt_no": "R-1"}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let name = t["task"].as_str().expect("task").to_owned();
            let body = if supplement && name == "food_permit" && !asked {
                asked = true;
                json!({"lease_token": lease, "decision": "supplement",
                       "missing": [{"material": "floor_plan", "reason": "平面图未标注操作间面积"}]})
            } else {
                json!({"lease_token": lease, "decision": "approved", "output": output_for(base(&name))})
            };
            let (s, v) = server
                .post(&format!("/v1/tasks/{id}/complete"), &token, body)
                .await;
            assert_eq!(s, StatusCode::OK, "{name}: {v}");
            if v["status"] == "approved" {
                approved.push(name);
            }
        }
    }
    approved
}

async fn wait_until(server: &Server, case_no: &str, what: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let case = server.case(case_no).await;
        if what(&case) {
            return case;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out; the case: {case:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_departments_poll_concurrently_to_a_finished_case() {
    whole_case(Server::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_departments_poll_concurrently_to_a_finished_case_on_postgres() {
    if let Some(server) = Server::postgres("three_departments…_on_postgres").await {
        whole_case(server).await;
    }
}

/// A 开办餐饮店 case from submission to evaluation and rectification, with three
/// departments (and fire's verification) polling concurrently and a supplement round.
async fn whole_case(server: Server) {
    let server = Arc::new(server);
    let (s, first) = server
        .post("/v1/cases", &server.tokens.window, restaurant("e2e-1"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, again) = server
        .post("/v1/cases", &server.tokens.window, restaurant("e2e-1"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        again, first,
        "the same idempotency key answers the first answer"
    );
    let case_no = first["case_no"].as_str().expect("case_no").to_owned();
    assert_eq!(first["status"], "running");
    assert!(first["deadline"].is_string(), "{first}");

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = [
        ("market", true),
        ("urban", false),
        ("tobacco", false),
        ("fire", false),
    ]
    .into_iter()
    .map(|(dep, supplement)| {
        tokio::spawn(back_office(server.clone(), dep, stop.clone(), supplement))
    })
    .collect();

    // The window sees one merged notice and answers it; the market task is dispatched again.
    let noticed = wait_until(&server, &case_no, |c| c["supplement_notice"].is_object()).await;
    assert_eq!(noticed["status"], "awaiting_supplement");
    assert_eq!(
        noticed["supplement_notice"]["items"][0]["material"],
        "floor_plan"
    );
    let (s, v) = server
        .post(
            &format!("/v1/cases/{case_no}/supplements"),
            &server.tokens.window,
            json!({"materials": {"floor_plan": {"name": "平面图-修订.pdf"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let done = wait_until(&server, &case_no, |c| {
        c["status"] == "completed" && status_of(c, "fire_check.verify") == "approved"
    })
    .await;
    stop.store(true, Ordering::Release);
    let mut approved = Vec::new();
    for w in workers {
        approved.extend(w.await.expect("worker"));
    }
    approved.sort();
    assert_eq!(
        approved,
        ["fire_check.verify", "food_permit", "signboard", "tobacco"]
    );
    let docs = &done["result"]["documents"];
    assert_eq!(docs["食品经营许可证"], "JY13201060000001", "{done:#}");
    assert_eq!(docs["烟草专卖零售许可证"], "YC-320106-0001");
    let food = done["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["name"] == "food_permit")
        .expect("food_permit");
    assert_eq!(
        food["attempts"], 2,
        "dispatched again after the supplement: {food}"
    );
    assert!(food["deadline"].is_string());

    // 好差评: a bad grade for market opens a rectification task in market's queue.
    let (s, v) = server
        .post(
            &format!("/v1/cases/{case_no}/evaluation"),
            &server.tokens.window,
            json!({"grade": 2, "comment": "窗口等候时间长", "department": "market"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["evaluations"][0]["grade"], 2);
    let rect = v["tasks"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == "rectify[0]"))
        .cloned()
        .expect("a rectification task");
    assert_eq!(
        (rect["department"].as_str(), rect["status"].as_str()),
        (Some("market"), Some("dispatched")),
        "{v:#}"
    );
    // Market's back office finds the rectification in its queue and reports it done.
    let rect = server.fetch("market", 10, "5s").await;
    assert_eq!(rect.len(), 1, "{rect:?}");
    assert_eq!(rect[0]["task"], "rectify[0]");
    assert_eq!(rect[0]["part"], "rectification");
    let id = enc(rect[0]["task_id"].as_str().expect("task_id"));
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/complete"),
            &server.dept("market"),
            json!({"lease_token": rect[0]["lease_token"], "decision": "approved",
                   "output": {}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        status_of(&server.case(&case_no).await, "rectify[0]"),
        "approved"
    );

    let (s, page) = server
        .get(
            &format!("/v1/cases/{case_no}/events?per_page=5&page=2"),
            &server.tokens.supervisor,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["events"].as_array().map(Vec::len), Some(5));
    assert_eq!(page["events"][0]["seq"], 6);
    let (s, found) = server
        .get(
            "/v1/cases?status=completed&bundle=open-restaurant",
            &server.tokens.supervisor,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(found["total"], 1, "{found}");
    let (_, metrics) = server
        .call(reqwest::Method::GET, "/metrics", None, None)
        .await;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(
        metrics.contains("yijian_cases{status=\"completed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("yijian_completions_total{decision=\"supplement\"} 1"),
        "{metrics}"
    );
    drop(
        Arc::try_unwrap(server)
            .ok()
            .expect("the only handle")
            .stop()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawing_one_task_lets_the_rest_go_on() {
    let server = Server::start().await;
    let (s, case) = server
        .post("/v1/cases", &server.tokens.window, restaurant("wd-1"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let case_no = case["case_no"].as_str().expect("case_no").to_owned();
    let before = server.fetch("tobacco", 1, "0s").await;
    assert_eq!(before.len(), 1);
    let (s, v) = server
        .post(
            &format!("/v1/cases/{case_no}/withdraw"),
            &server.tokens.window,
            json!({"reason": "申请人暂不经营卷烟", "tasks": ["tobacco"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(status_of(&v, "tobacco"), "withdrawn");
    assert_eq!(status_of(&v, "signboard"), "dispatched");
    // The back office that held the withdrawn task is refused, and changes nothing.
    let id = enc(before[0]["task_id"].as_str().expect("id"));
    let events = server.events(&case_no).await;
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/complete"),
            &server.dept("tobacco"),
            json!({"lease_token": before[0]["lease_token"], "decision": "approved", "output": output_for("tobacco")}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(server.events(&case_no).await, events);
    for dep in ["market", "urban", "fire"] {
        for t in server.fetch(dep, 10, "2s").await {
            let id = enc(t["task_id"].as_str().expect("id"));
            let name = t["task"].as_str().expect("task");
            let (s, v) = server
                .post(
                    &format!("/v1/tasks/{id}/complete"),
                    &server.dept(dep),
                    json!({"lease_token": t["lease_token"], "decision": "approved", "output": output_for(base(name))}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    }
    let done = wait_until(&server, &case_no, |c| c["result"].is_object()).await;
    assert_eq!(status_of(&done, "tobacco"), "withdrawn");
    assert_eq!(status_of(&done, "food_permit"), "approved");
    assert!(
        done["result"]["documents"]["烟草专卖零售许可证"].is_null(),
        "{done:#}"
    );
    drop(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_proposes_and_the_window_confirms() {
    let server = Server::start().await;
    let event = json!({
        "bundle": "newborn",
        "region": "442000",
        "source": "zhongshan-hospital",
        "event_id": "birth-0001",
        "form": {
            "child_name": "王小明", "child_sex": "male", "birth_date": "2026-11-20",
            "birth_place": "中山市人民医院", "mother_name": "李红", "mother_id_no": "44200019900101002X",
            "father_name": "王刚", "father_id_no": "442000198901010031", "parents_married": true,
            "father_hukou_in_province": true, "mother_hukou_in_province": true,
            "hukou_follows": "father", "householder_name": "王刚"
        }
    });
    let (s, proposed) = server
        .post("/v1/triggers", &server.tokens.trigger, event.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{proposed}");
    assert_eq!(proposed["status"], "proposed");
    let (s, again) = server
        .post("/v1/triggers", &server.tokens.trigger, event)
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(again["case_no"], proposed["case_no"]);
    let case_no = proposed["case_no"].as_str().expect("case_no");
    assert!(
        server.fetch("health", 1, "0s").await.is_empty(),
        "nothing runs before confirmation"
    );
    let (s, v) = server
        .call(
            reqwest::Method::POST,
            &format!("/v1/cases/{case_no}/confirm"),
            Some(&server.tokens.window),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "running");
    let tasks = server.fetch("health", 1, "2s").await;
    assert_eq!(tasks[0]["task"], "birth_certificate");
    drop(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_become_incidents_an_operator_retries() {
    let server = Server::start().await;
    let (_, case) = server
        .post("/v1/cases", &server.tokens.window, restaurant("inc-1"))
        .await;
    let case_no = case["case_no"].as_str().expect("case_no").to_owned();
    let urban = server.dept("urban");
    for attempt in 1..=3 {
        let t = server.fetch("urban", 1, "5s").await;
        assert_eq!(t.len(), 1, "attempt {attempt}");
        assert_eq!(t[0]["attempt"], attempt);
        let id = enc(t[0]["task_id"].as_str().expect("id"));
        let (s, v) = server
            .post(&format!("/v1/tasks/{id}/fail"), &urban, json!({"lease_token": t[0]["lease_token"], "error": "城管审批系统维护中", "retry_in": "1s"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            v["status"],
            if attempt < 3 {
                "retry_wait"
            } else {
                "incident"
            },
            "{v}"
        );
    }
    let (s, list) = server.get("/v1/incidents", &server.tokens.admin).await;
    assert_eq!(s, StatusCode::OK);
    let incident = list["incidents"]
        .as_array()
        .and_then(|l| l.first())
        .cloned()
        .expect("one incident");
    assert_eq!(incident["case_no"], case_no.as_str());
    assert_eq!(incident["task"], "signboard");
    let id = enc(incident["id"].as_str().expect("id"));
    let (s, v) = server
        .post(
            &format!("/v1/incidents/{id}/retry"),
            &server.tokens.supervisor,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "supervisors read only: {v}");
    let (s, v) = server
        .post(
            &format!("/v1/incidents/{id}/retry"),
            &server.tokens.admin,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(server.fetch("urban", 1, "2s").await.len(), 1);
    drop(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_scoped_tokens_see_their_subtree_only() {
    let tokens = [
        ("window-all", "window", None, "t-window"),
        ("supervision", "supervisor", None, "t-super"),
        ("window-xuanwu", "window", Some("320102"), "t-window-xw"),
        (
            "market-gulou",
            "department:market",
            Some("320106"),
            "t-market-gl",
        ),
        (
            "market-xuanwu",
            "department:market",
            Some("320102"),
            "t-market-xw",
        ),
    ];
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start_in(dir, |c| {
        c.tokens = token_configs(
            tokens
                .iter()
                .map(|(n, r, g, secret)| (*n, *r, *g, (*secret).to_owned())),
        );
    })
    .await;
    assert!(
        !server.dir.path().join("yijian-dev-tokens.json").exists(),
        "configured tokens: no dev tokens"
    );
    let (s, v) = server
        .post("/v1/cases", "t-window-xw", restaurant("rg-0"))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("outside_region")),
        "{v}"
    );
    let (s, case) = server
        .post("/v1/cases", "t-window", restaurant("rg-1"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let case_no = case["case_no"].as_str().expect("case_no");
    let fetch = json!({"max": 10, "wait": "0s"});
    let (s, v) = server
        .post(
            "/v1/departments/market/tasks/fetch",
            "t-market-xw",
            fetch.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["tasks"],
        json!([]),
        "another district's task is not visible"
    );
    let (s, _) = server
        .get(&format!("/v1/cases/{case_no}"), "t-market-xw")
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = server
        .post("/v1/departments/market/tasks/fetch", "t-market-gl", fetch)
        .await;
    assert_eq!(s, StatusCode::OK);
    let task = v["tasks"][0].clone();
    assert_eq!(task["task"], "food_permit", "{v}");
    let id = enc(task["task_id"].as_str().expect("id"));
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/accept"),
            "t-market-xw",
            json!({"lease_token": task["lease_token"]}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("outside_region")),
        "{v}"
    );
    let (s, list) = server.get("/v1/cases", "t-super").await;
    assert_eq!((s, list["total"].as_u64()), (StatusCode::OK, Some(1)));
    let (s, list) = server.get("/v1/cases", "t-window-xw").await;
    assert_eq!(
        (s, list["total"].as_u64()),
        (StatusCode::OK, Some(0)),
        "{list}"
    );
    drop(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_survive_a_restart() {
    let server = Server::start().await;
    let (_, case) = server
        .post("/v1/cases", &server.tokens.window, restaurant("rs-1"))
        .await;
    let case_no = case["case_no"].as_str().expect("case_no").to_owned();
    let task = server.fetch("market", 1, "2s").await.remove(0);
    let dir = server.stop().await;
    let server = Server::start_in(dir, |_| {}).await;
    assert!(
        server.fetch("market", 1, "0s").await.is_empty(),
        "still leased after the restart"
    );
    let id = enc(task["task_id"].as_str().expect("id"));
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/complete"),
            &server.dept("market"),
            json!({"lease_token": task["lease_token"], "decision": "approved", "output": output_for("food_permit")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        status_of(&server.case(&case_no).await, "food_permit"),
        "approved"
    );
    drop(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_completions_is_answered_one_by_one() {
    let server = Server::start().await;
    let mut cases = Vec::new();
    for i in 0..3 {
        let (s, v) = server
            .post(
                "/v1/cases",
                &server.tokens.window,
                restaurant(&format!("batch-{i}")),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        cases.push(v["case_no"].as_str().expect("case_no").to_owned());
    }
    let tasks = server.fetch("market", 10, "2s").await;
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    let of = |case: &str| {
        tasks
            .iter()
            .find(|t| t["case_no"] == case)
            .cloned()
            .expect("the case's task")
    };
    let (a, b, c) = (of(&cases[0]), of(&cases[1]), of(&cases[2]));
    let before_b = server.events(&cases[1]).await;
    let before_c = server.events(&cases[2]).await;
    let good = json!({"task_id": a["task_id"], "lease_token": a["lease_token"],
                      "decision": "approved", "output": output_for("food_permit")});
    let batch = json!({"completions": [
        good,
        {"task_id": b["task_id"], "lease_token": b["lease_token"], "decision": "approved",
         "output": {"permit_no": 42}},
        {"task_id": c["task_id"], "lease_token": 999, "decision": "rejected", "reason": "不符合"},
        {"task_id": format!("{}:no_such_task", cases[0]), "decision": "rejected", "reason": "x"},
        good,
    ]});
    let market = server.dept("market");
    let (s, v) = server
        .post("/v1/departments/market/tasks/complete", &market, batch)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let results = v["results"].as_array().expect("results");
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(statuses, [200, 422, 409, 404, 200], "{v:#}");
    assert_eq!(results[0]["answer"]["status"], "approved");
    assert_eq!(
        results[4]["answer"], results[0]["answer"],
        "a repeat in the batch answers the same"
    );
    assert_eq!(results[1]["error"]["code"], "invalid_output");
    assert_eq!(results[2]["error"]["code"], "stale_lease");
    assert_eq!(results[3]["error"]["code"], "unknown_task");
    assert_eq!(
        status_of(&server.case(&cases[0]).await, "food_permit"),
        "approved"
    );
    assert_eq!(
        server.events(&cases[1]).await,
        before_b,
        "refused: unchanged"
    );
    assert_eq!(
        server.events(&cases[2]).await,
        before_c,
        "refused: unchanged"
    );

    // The whole request is refused when it is malformed, empty, too long, or another
    // department's.
    let (s, v) = server
        .post(
            "/v1/departments/market/tasks/complete",
            &market,
            json!({"completions": []}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_body"))
    );
    let many: Vec<Value> = (0..101).map(|_| good_clone(&a)).collect();
    let (s, _) = server
        .post(
            "/v1/departments/market/tasks/complete",
            &market,
            json!({"completions": many}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = server
        .post(
            "/v1/departments/market/tasks/complete",
            &server.dept("fire"),
            json!({"completions": [good_clone(&b)]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // A fire token naming market's task inside fire's own batch: 403 for that item.
    let (s, v) = server
        .post(
            "/v1/departments/fire/tasks/complete",
            &server.dept("fire"),
            json!({"completions": [good_clone(&b)]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["results"][0]["status"], 403, "{v}");
    assert_eq!(server.events(&cases[1]).await, before_b);
    server.stop().await;
}

fn good_clone(t: &Value) -> Value {
    json!({"task_id": t["task_id"], "lease_token": t["lease_token"],
           "decision": "approved", "output": output_for("food_permit")})
}
