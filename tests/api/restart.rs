//! What a restart on the same SQLite file keeps: the first answer to an idempotent
//! submission, and search over the cases closed before it; and the store's commit batch
//! sizes in `/metrics`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::server::{Server, enc, restaurant};

/// A 施工许可 application that is not a special project: one task, `permit` (housing).
fn permit() -> Value {
    json!({
        "bundle": "construction-permit",
        "region": "320106",
        "form": {
            "project_name": "鼓楼区某办公楼",
            "project_code": "2026-320106-47-01-000001",
            "builder_uscc": "91320106MA1XY01234",
            "builder_name": "南京某置业有限公司",
            "site_address": "南京市鼓楼区中山北路1号",
            "investment": 5_000_000,
            "floor_area": 1200,
            "special_project": false,
            "contractor_name": "江苏某建设集团"
        },
        "materials": {
            "land_approval": {"name": "不动产权证书.pdf"},
            "planning_permit": {"name": "建设工程规划许可证.pdf"},
            "construction_contract": {"name": "施工合同.pdf"},
            "drawings": {"name": "施工图纸.pdf"},
            "funding_proof": {"name": "建设资金已经落实承诺书.pdf"}
        }
    })
}

async fn submit(server: &Server, body: Value) -> Value {
    let (s, v) = server.post("/v1/cases", &server.tokens.window, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

fn case_no(case: &Value) -> String {
    case["case_no"].as_str().expect("case_no").to_owned()
}

async fn withdraw(server: &Server, case_no: &str) {
    let (s, v) = server
        .post(
            &format!("/v1/cases/{case_no}/withdraw"),
            &server.tokens.window,
            json!({"reason": "申请人撤回"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Approves every housing task waiting in the queue; returns their cases.
async fn approve_permits(server: &Server) -> Vec<String> {
    let licence = json!({
        "name": "施工许可证.pdf",
        "uri": "https://files.example.invalid/permit.pdf",
        "sha256": "b".repeat(64)
    });
    let mut cases = Vec::new();
    for t in server.fetch("housing", 10, "2s").await {
        let id = enc(t["task_id"].as_str().expect("task_id"));
        let (s, v) = server
            .post(
                &format!("/v1/tasks/{id}/complete"),
                &server.dept("housing"),
                json!({
                    "lease_token": t["lease_token"],
                    "decision": "approved",
                    "output": {"permit_no": "SG-320106-0001", "permit_pdf": licence}
                }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        cases.push(t["case_no"].as_str().expect("case_no").to_owned());
    }
    cases
}

/// `GET /v1/cases?{query}` as the supervisor: `(total, case numbers shown)`.
async fn search(server: &Server, query: &str) -> (u64, Vec<String>) {
    let (s, v) = server
        .get(&format!("/v1/cases?{query}"), &server.tokens.supervisor)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let shown = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(case_no)
        .collect();
    (v["total"].as_u64().expect("total"), shown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_submission_after_a_restart_answers_the_first_answer() {
    let server = Server::start().await;
    let body = restaurant("restart-portal-1");
    let first = submit(&server, body.clone()).await;
    let no = case_no(&first);
    withdraw(&server, &no).await;
    assert_eq!(server.case(&no).await["status"], "withdrawn");

    let server = Server::start_in(server.stop().await, |_| {}).await;
    let (s, again) = server.post("/v1/cases", &server.tokens.window, body).await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    // The progress-query code is shown once: the store keeps only its hash, so an answer
    // rebuilt after a restart has none (docs/portal.md); everything else is the first answer.
    assert!(first["progress_code"].is_string(), "{first}");
    assert_eq!(
        again.get("progress_code"),
        None,
        "no new code for an old case: {again}"
    );
    let mut first_without_code = first.clone();
    if let Some(m) = first_without_code.as_object_mut() {
        m.remove("progress_code");
    }
    assert_eq!(
        again, first_without_code,
        "the first answer, not the case as it stands after the withdrawal"
    );
    assert_eq!(server.case(&no).await["status"], "withdrawn");
    assert_eq!(search(&server, "").await.0, 1, "no second case");
    drop(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_cases_closed_before_a_restart() {
    let server = Server::start().await;
    let p1 = case_no(&submit(&server, permit()).await);
    let p2 = case_no(&submit(&server, permit()).await);
    let mut approved = approve_permits(&server).await;
    approved.sort();
    assert_eq!(approved, [p1.clone(), p2.clone()]);
    let r1 = case_no(&submit(&server, restaurant("restart-search")).await);
    withdraw(&server, &r1).await;
    let p3 = case_no(&submit(&server, permit()).await);
    for p in [&p1, &p2] {
        assert_eq!(server.case(p).await["status"], "completed");
    }

    let server = Server::start_in(server.stop().await, |_| {}).await;
    assert_eq!(
        search(&server, "status=completed").await,
        (2, vec![p2.clone(), p1.clone()]),
        "cases completed before the restart, newest first"
    );
    assert_eq!(
        search(&server, "status=withdrawn").await,
        (1, vec![r1.clone()])
    );
    assert_eq!(
        search(&server, "bundle=construction-permit").await,
        (3, vec![p3.clone(), p2.clone(), p1.clone()])
    );
    assert_eq!(
        search(&server, "").await,
        (4, vec![p3.clone(), r1.clone(), p2.clone(), p1.clone()]),
        "every case, in creation order, newest first"
    );
    assert_eq!(
        search(&server, "status=completed&per_page=1&page=2").await,
        (2, vec![p1.clone()]),
        "closed cases off the page still count"
    );
    assert_eq!(
        search(&server, "status=completed&department=housing").await,
        (2, vec![p2.clone(), p1.clone()]),
        "a filter on tasks reads the closed cases"
    );
    assert_eq!(search(&server, "status=running").await, (1, vec![p3]));
    let (_, v) = server
        .get("/v1/cases?status=completed", &server.tokens.supervisor)
        .await;
    assert_eq!(v["cases"][0]["bundle"], "construction-permit", "{v}");
    assert_eq!(v["cases"][0]["status"], "completed", "{v}");
    drop(server.stop().await);
}

/// The samples of `yijian_commit_batch_size`: `(le, value)` buckets, sum, count.
fn batch_histogram(metrics: &str) -> (Vec<(String, u64)>, u64, u64) {
    let value = |line: &str| -> u64 {
        line.rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("a sample: {line}"))
    };
    let mut buckets = Vec::new();
    let (mut sum, mut count) = (None, None);
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("yijian_commit_batch_size_bucket{le=\"") {
            let le = rest.split('"').next().expect("le").to_owned();
            buckets.push((le, value(line)));
        } else if line.starts_with("yijian_commit_batch_size_sum ") {
            sum = Some(value(line));
        } else if line.starts_with("yijian_commit_batch_size_count ") {
            count = Some(value(line));
        }
    }
    (
        buckets,
        sum.expect("yijian_commit_batch_size_sum"),
        count.expect("yijian_commit_batch_size_count"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_commit_batch_sizes() {
    let server = Server::start().await;
    // Eight submissions at once, so that the writer may group them.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let client = server.client.clone();
        let url = format!("{}/v1/cases", server.base);
        let token = server.tokens.window.clone();
        set.spawn(async move {
            let res = client.post(url).bearer_auth(token).json(&permit()).send();
            res.await.expect("sent").status()
        });
    }
    while let Some(status) = set.join_next().await {
        assert_eq!(status.expect("joined"), StatusCode::CREATED);
    }
    let (s, metrics) = server.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let metrics = metrics.as_str().expect("text").to_owned();
    assert!(
        metrics.contains("# TYPE yijian_commit_batch_size histogram\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# HELP yijian_commit_batch_size "),
        "{metrics}"
    );
    let (buckets, sum, count) = batch_histogram(&metrics);
    assert!(count > 0, "{metrics}");
    assert!(sum >= 8, "every submission was a commit: {metrics}");
    assert!(
        sum >= count,
        "a transaction holds at least one commit: {metrics}"
    );
    let les: Vec<&str> = buckets.iter().map(|(le, _)| le.as_str()).collect();
    assert_eq!(
        les,
        [
            "1", "2", "4", "8", "16", "32", "64", "128", "256", "512", "+Inf"
        ]
    );
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "cumulative buckets never decrease: {buckets:?}"
    );
    assert_eq!(
        buckets.last().map(|b| b.1),
        Some(count),
        "+Inf is the count"
    );
    drop(server.stop().await);
}
