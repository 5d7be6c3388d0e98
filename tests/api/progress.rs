//! 办事指南 and 办件进度查询 over HTTP, without tokens: the guide is generated from the
//! deployed bundle (a new version changes the guide and the engine alike); a case taken
//! online and supplemented at the window keeps one timeline with both channels; progress
//! answers the right code, refuses a wrong one exactly as an unknown case number, locks a
//! case after repeated wrong codes, and shows no unmasked personal data.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::camunda_python::small_restaurant;
use super::server::{Server, enc};

/// Personal data in the test application, none of which may appear in a progress answer.
const PERSONAL: [&str; 4] = ["王五", "李四", "32010619900101123X", "13912345678"];

async fn text(server: &Server, path: &str) -> (StatusCode, String, String) {
    let res = server
        .client
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .expect("sent");
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, res.text().await.expect("body"))
}

/// The market fetches the case's food permit and asks for the floor plan again, giving
/// `reason`.
pub(super) async fn ask_for_floor_plan(server: &Server, case_no: &str, reason: &str) {
    let t = server
        .fetch("market", 5, "5s")
        .await
        .into_iter()
        .find(|t| t["case_no"] == case_no)
        .expect("food_permit dispatched");
    let id = enc(t["task_id"].as_str().expect("id"));
    let (s, v) = server
        .post(
            &format!("/v1/tasks/{id}/complete"),
            &server.dept("market"),
            json!({"lease_token": t["lease_token"], "decision": "supplement",
                   "missing": [{"material": "floor_plan", "reason": reason}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn progress(server: &Server, case_no: &str, code: &str) -> (StatusCode, Value) {
    server
        .call(
            Method::POST,
            "/v1/progress",
            None,
            Some(json!({"case_no": case_no, "code": code})),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_guide_is_the_deployed_bundle() {
    let server = Server::start().await;
    let (s, ct, index) = text(&server, "/guide").await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(index.contains("/guide/open-restaurant") && index.contains("开办餐饮店一件事"));
    let (s, _, html) = text(&server, "/guide/open-restaurant").await;
    assert_eq!(s, StatusCode::OK);
    for fact in [
        "食品经营许可",
        "000131024000",
        "市场监督管理局",
        "3 个工作日",
        "容缺",
        "12345",
        "form.sells_tobacco",
    ] {
        assert!(html.contains(fact), "the guide lacks {fact}");
    }
    let (s, ct, md) = text(&server, "/guide/open-restaurant?format=md").await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/markdown"), "{ct}");
    assert!(md.starts_with("# 开办餐饮店一件事 办事指南"), "{md}");
    let (s, _, _) = text(&server, "/guide/no-such-bundle").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = text(&server, "/guide/open-restaurant?format=pdf").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // A designer's change, deployed as version 2: the guide and the engine both follow it.
    let yaml = std::fs::read_to_string(super::server::catalog().join("open-restaurant.yaml"))
        .expect("bundle");
    let v2 = yaml
        .replacen("version: 1", "version: 2", 1)
        .replace("time_limit: 4wd\n", "time_limit: 6wd\n");
    assert_ne!(v2, yaml);
    let res = server
        .client
        .post(format!("{}/v1/bundles", server.base))
        .bearer_auth(&server.tokens.admin)
        .header("content-type", "application/yaml")
        .body(v2)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let (_, _, md2) = text(&server, "/guide/open-restaurant?format=md").await;
    assert!(md2.contains("版本 2"), "{md2}");
    let tobacco = |md: &str| {
        md.lines()
            .find(|l| l.starts_with("| 烟草专卖零售许可证核发(新办)"))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert!(tobacco(&md).contains("| 4 个工作日 |"), "{}", tobacco(&md));
    assert!(
        tobacco(&md2).contains("| 6 个工作日 |"),
        "{}",
        tobacco(&md2)
    );
    // The engine runs version 2 with the same limit: its tobacco task is due later.
    let due = |version: u32, key: &'static str| {
        let server = &server;
        async move {
            let mut app = small_restaurant(key);
            app["version"] = json!(version);
            let (s, v) = server.post("/v1/cases", &server.tokens.window, app).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            let c = server.case(v["case_no"].as_str().unwrap_or_default()).await;
            c["tasks"]
                .as_array()
                .and_then(|ts| ts.iter().find(|t| t["name"] == "tobacco"))
                .and_then(|t| t["deadline"].as_str())
                .unwrap_or_default()
                .to_owned()
        }
    };
    let (d1, d2) = (due(1, "guide-v1").await, due(2, "guide-v2").await);
    assert!(!d1.is_empty() && d2 > d1, "v1 due {d1}, v2 due {d2}");
    let (_, _, md1) = text(&server, "/guide/open-restaurant?format=md&version=1").await;
    assert!(
        tobacco(&md1).contains("| 4 个工作日 |"),
        "version 1 is still there"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_case_supplemented_at_the_window_and_its_progress() {
    let server = Server::start().await;
    let mut app = small_restaurant("progress-1");
    app["channel"] = json!("portal");
    app["taken_by"] = json!("江苏政务服务网");
    app["form"]["partners"] = json!([{"name": "李四", "id_no": "32010619900101123X"}]);
    let (s, v) = server.post("/v1/cases", &server.tokens.window, app).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let case_no = v["case_no"].as_str().expect("case_no").to_owned();
    let code = v["progress_code"]
        .as_str()
        .expect("a query code on the receipt")
        .to_owned();
    assert_eq!(v["channel"], "portal");
    assert_eq!(code.len(), 8);

    // The market asks for a supplement, quoting the applicant's personal data.
    ask_for_floor_plan(
        &server,
        &case_no,
        "合伙人李四(32010619900101123X)签字缺失;经营者王五请补电话13912345678",
    )
    .await;

    let (s, p) = progress(&server, &case_no, &code.to_lowercase()).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["stage"], "待补正");
    assert_eq!(p["applicant"], "王*");
    assert_eq!(p["title"], "开办餐饮店一件事");
    let notice = &p["notice"]["items"][0];
    assert_eq!(notice["what"], "经营场所平面布局图及设备布局、工艺流程图");
    assert!(
        notice["reason"]
            .as_str()
            .is_some_and(|r| r.contains("李*") && r.contains("3201**********123X")),
        "{p}"
    );
    let food = p["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["item"] == "食品经营许可"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (food["department"].as_str(), food["state"].as_str()),
        (Some("市场监督管理局"), Some("待补正")),
        "{p}"
    );
    let answer = p.to_string();
    for secret in PERSONAL {
        assert!(!answer.contains(secret), "`{secret}` in {answer}");
    }

    // The window takes the corrected plan: one case, one timeline, both channels.
    let (s, v) = server
        .post(
            &format!("/v1/cases/{case_no}/supplements"),
            &server.tokens.window,
            json!({"materials": {"floor_plan": {"name": "平面图-修订.pdf"}}, "channel": "window",
                   "taken_by": "鼓楼区政务服务中心3号窗口"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let events = server.events(&case_no).await;
    let vias: Vec<Value> = events["events"]
        .as_array()
        .map(|es| {
            es.iter()
                .filter_map(|e| {
                    e["submission"]["via"]
                        .as_object()
                        .or(e["via"].as_object())
                        .cloned()
                })
                .map(Value::Object)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        vias,
        vec![
            json!({"channel": "portal", "taken_by": "江苏政务服务网"}),
            json!({"channel": "window", "taken_by": "鼓楼区政务服务中心3号窗口"})
        ],
        "{events}"
    );
    let (s, p) = progress(&server, &case_no, &code).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["channels"], json!(["网上办事大厅", "综合窗口"]));
    assert_eq!(p["stage"], "办理中");

    // Listings and figures by channel.
    let (s, list) = server
        .get("/v1/cases?channel=portal", &server.tokens.supervisor)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["cases"].as_array().map(Vec::len), Some(1), "{list}");
    let (_, list) = server
        .get("/v1/cases?channel=kiosk", &server.tokens.supervisor)
        .await;
    assert_eq!(list["cases"].as_array().map(Vec::len), Some(0), "{list}");
    let (_, _, metrics) = text(&server, "/metrics").await;
    assert!(
        metrics.contains("yijian_cases_by_channel{channel=\"portal\"} 1"),
        "{metrics}"
    );

    // Wrong codes: the same answer as an unknown case number; then the case is locked.
    let (s1, wrong) = progress(&server, &case_no, "AAAAAAAA").await;
    let (s2, unknown) = progress(&server, "320106-20991231-99999999", &code).await;
    assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(
        wrong, unknown,
        "a wrong code and an unknown number are not told apart"
    );
    // Four more wrong codes on this case: five in all.
    for _ in 0..4 {
        let (s, _) = progress(&server, &case_no, "BBBBBBBB").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let res = server
        .client
        .post(format!("{}/v1/progress", server.base))
        .json(&json!({"case_no": case_no, "code": code}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked after 5 wrong codes, even for the right one"
    );
    assert!(res.headers().get("retry-after").is_some());
    let (s, v) = progress(&server, "", "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    server.stop().await;
}
