//! The bad-input catalogue: each refusal has its documented status and code, and the
//! case's stored events are the same before and after.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::server::{Server, enc, output_for, restaurant};

/// A case with its `food_permit` leased to a market worker: `(case_no, task_id, token)`.
async fn leased_case(server: &Server, key: &str) -> (String, String, u64) {
    let (s, case) = server
        .post("/v1/cases", &server.tokens.window, restaurant(key))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let case_no = case["case_no"].as_str().expect("case_no").to_owned();
    let t = server
        .fetch("market", 10, "2s")
        .await
        .into_iter()
        .find(|t| t["case_no"] == case_no.as_str())
        .expect("the food permit is in market's queue");
    (
        case_no,
        enc(t["task_id"].as_str().expect("task_id")),
        t["lease_token"].as_u64().expect("token"),
    )
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// Asserts a refusal and that the case's events did not change.
macro_rules! refused {
    ($server:expr, $case:expr, $call:expr, $status:expr, $code:expr) => {{
        let before = $server.events($case).await;
        let (s, v) = $call.await;
        assert_eq!((s, code(&v)), ($status, $code), "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
        assert_eq!(
            $server.events($case).await,
            before,
            "nothing stored changed"
        );
        v
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_change_nothing() {
    bad_requests_change_nothing_on(Server::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_change_nothing_on_postgres() {
    if let Some(server) = Server::postgres("bad_requests_change_nothing_on_postgres").await {
        bad_requests_change_nothing_on(server).await;
    }
}

async fn bad_requests_change_nothing_on(server: Server) {
    let (case_no, id, token) = leased_case(&server, "bad-1").await;
    let market = server.dept("market");
    let complete = format!("/v1/tasks/{id}/complete");

    // Malformed JSON, wrong types, missing fields: 400.
    refused!(
        server,
        &case_no,
        server.post_raw(&complete, &market, b"{\"lease_token\": 1,".to_vec()),
        StatusCode::BAD_REQUEST,
        "malformed_json"
    );
    refused!(
        server,
        &case_no,
        server.post(
            &complete,
            &market,
            json!({"lease_token": "one", "decision": "approved"})
        ),
        StatusCode::BAD_REQUEST,
        "invalid_body"
    );
    refused!(
        server,
        &case_no,
        server.post(&complete, &market, json!({"lease_token": token})),
        StatusCode::BAD_REQUEST,
        "invalid_body"
    );
    refused!(
        server,
        &case_no,
        server.post(
            &complete,
            &market,
            json!({"lease_token": token, "decision": "maybe"})
        ),
        StatusCode::BAD_REQUEST,
        "invalid_body"
    );
    refused!(
        server,
        &case_no,
        server.post(
            &complete,
            &market,
            json!({"lease_token": token, "decision": "approved", "reason": "x"})
        ),
        StatusCode::BAD_REQUEST,
        "invalid_body"
    );
    refused!(
        server,
        &case_no,
        server.post(
            &format!("/v1/cases/{case_no}/withdraw"),
            &server.tokens.window,
            json!({"tasks": ["signboard"]})
        ),
        StatusCode::BAD_REQUEST,
        "invalid_body"
    );

    // Unknown case and task: 404.
    let (s, v) = server
        .get("/v1/cases/000000-20260101-99999999", &server.tokens.window)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "unknown_case"));
    let (s, v) = server
        .post(
            &format!(
                "/v1/tasks/{}/complete",
                enc("000000-20260101-99999999:food_permit")
            ),
            &market,
            json!({"lease_token": 1, "decision": "rejected", "reason": "x"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "unknown_case"));
    let nope = enc(&format!("{case_no}:no_such_task"));
    refused!(
        server,
        &case_no,
        server.post(
            &format!("/v1/tasks/{nope}/complete"),
            &market,
            json!({"lease_token": token, "decision": "rejected", "reason": "x"})
        ),
        StatusCode::NOT_FOUND,
        "unknown_task"
    );
    refused!(
        server,
        &case_no,
        server.post(
            &format!("/v1/cases/{case_no}/withdraw"),
            &server.tokens.window,
            json!({"reason": "x", "tasks": ["no_such_task"]})
        ),
        StatusCode::NOT_FOUND,
        "unknown_task"
    );

    // Auth: no token 401; another department's token 403; a role that may not 403.
    refused!(
        server,
        &case_no,
        server.call(
            Method::POST,
            &complete,
            None,
            Some(json!({"lease_token": token, "decision": "rejected", "reason": "x"}))
        ),
        StatusCode::UNAUTHORIZED,
        "missing_token"
    );
    refused!(
        server,
        &case_no,
        server.post(
            &complete,
            "not-a-token",
            json!({"lease_token": token, "decision": "rejected", "reason": "x"})
        ),
        StatusCode::UNAUTHORIZED,
        "invalid_token"
    );
    refused!(
        server,
        &case_no,
        server.post(
            &complete,
            &server.dept("urban"),
            json!({"lease_token": token, "decision": "rejected", "reason": "x"})
        ),
        StatusCode::FORBIDDEN,
        "wrong_department"
    );
    refused!(
        server,
        &case_no,
        server.post(
            &format!("/v1/cases/{case_no}/withdraw"),
            &server.tokens.supervisor,
            json!({"reason": "x"})
        ),
        StatusCode::FORBIDDEN,
        "forbidden"
    );
    let (s, v) = server
        .post(
            "/v1/departments/urban/tasks/fetch",
            &market,
            json!({"max": 1}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "wrong_department"));

    // Too large: 413.
    let big = format!(
        "{{\"lease_token\": {token}, \"decision\": \"rejected\", \"reason\": \"{}\"}}",
        "x".repeat(2 << 20)
    );
    refused!(
        server,
        &case_no,
        server.post_raw(&complete, &market, big.into_bytes()),
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large"
    );

    // Output not matching the declaration: 422 with what is wrong.
    let v = refused!(
        server,
        &case_no,
        server.post(
            &complete,
            &market,
            json!({"lease_token": token, "decision": "approved", "output": {"permit_no": 7}})
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_output"
    );
    assert!(
        v["error"]["details"]["problems"]
            .as_array()
            .is_some_and(|p| !p.is_empty()),
        "{v}"
    );

    // Stale and foreign lease tokens: 409.
    refused!(server, &case_no, server.post(&complete, &market, json!({"lease_token": token + 7, "decision": "approved", "output": output_for("food_permit")})), StatusCode::CONFLICT, "stale_lease");
    refused!(
        server,
        &case_no,
        server.post(
            &format!("/v1/tasks/{id}/heartbeat"),
            &market,
            json!({"lease_token": 0})
        ),
        StatusCode::CONFLICT,
        "stale_lease"
    );

    // A completion, then the same again: the same 200, nothing stored twice.
    let body =
        json!({"lease_token": token, "decision": "approved", "output": output_for("food_permit")});
    let (s, first) = server.post(&complete, &market, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let before = server.events(&case_no).await;
    let (s, second) = server.post(&complete, &market, body).await;
    assert_eq!((s, &second), (StatusCode::OK, &first));
    assert_eq!(server.events(&case_no).await, before);
    // A different decision under the same lease is not a repeat.
    refused!(
        server,
        &case_no,
        server.post(
            &complete,
            &market,
            json!({"lease_token": token, "decision": "rejected", "reason": "x"})
        ),
        StatusCode::CONFLICT,
        "task_not_open"
    );
    drop(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_leases_and_completion_after_cancellation() {
    stale_leases_and_completion_after_cancellation_on(Server::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_leases_and_completion_after_cancellation_on_postgres() {
    if let Some(server) =
        Server::postgres("stale_leases_and_completion_after_cancellation_on_postgres").await
    {
        stale_leases_and_completion_after_cancellation_on(server).await;
    }
}

async fn stale_leases_and_completion_after_cancellation_on(server: Server) {
    let market = server.dept("market");
    // A lease that expired and was given to another worker: the old token is refused.
    let (s, case) = server
        .post("/v1/cases", &server.tokens.window, restaurant("stale-1"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let case_no = case["case_no"].as_str().expect("case_no").to_owned();
    let (_, v) = server
        .post(
            "/v1/departments/market/tasks/fetch",
            &market,
            json!({"max": 1, "lease": "1s", "wait": "2s"}),
        )
        .await;
    let old = v["tasks"][0].clone();
    let id = enc(old["task_id"].as_str().expect("id"));
    let newer = server.fetch("market", 1, "5s").await;
    assert_eq!(
        newer.len(),
        1,
        "the expired lease put the task back in the queue"
    );
    assert!(newer[0]["lease_token"].as_u64() > old["lease_token"].as_u64());
    refused!(server, &case_no, server.post(&format!("/v1/tasks/{id}/complete"), &market, json!({"lease_token": old["lease_token"], "decision": "approved", "output": output_for("food_permit")})), StatusCode::CONFLICT, "stale_lease");

    // The applicant withdraws the whole case: a completion afterwards is refused.
    let (s, v) = server
        .post(
            &format!("/v1/cases/{case_no}/withdraw"),
            &server.tokens.window,
            json!({"reason": "不再开店"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "withdrawn");
    let v = refused!(server, &case_no, server.post(&format!("/v1/tasks/{id}/complete"), &market, json!({"lease_token": newer[0]["lease_token"], "decision": "approved", "output": output_for("food_permit")})), StatusCode::CONFLICT, code_of_closed());
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    drop(server.stop().await);
}

/// What a completion on a withdrawn case is refused with.
fn code_of_closed() -> &'static str {
    "case_closed"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_and_unknown_bundles() {
    let server = Server::start().await;
    let admin = server.tokens.admin.clone();
    let yaml = "yijian: 1\nid: demo\nversion: 1\ntitle: 示例\ntime_limit: 5wd\ntasks:\n  a: {title: A, department: market}\n";
    let deploy = |text: String, token: String| {
        let client = server.client.clone();
        let url = format!("{}/v1/bundles", server.base);
        async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/yaml")
                .body(text)
                .send()
                .await
                .expect("sent");
            let status = res.status();
            (status, res.json::<Value>().await.expect("json"))
        }
    };
    let (s, v) = deploy(yaml.to_owned(), admin.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["id"].as_str(), v["version"].as_u64()),
        (Some("demo"), Some(1))
    );
    let (s, _) = deploy(yaml.to_owned(), admin.clone()).await;
    assert_eq!(s, StatusCode::OK, "the same content again");
    let (s, v) = deploy(yaml.replace("title: A", "title: B"), admin.clone()).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "bundle_exists"),
        "{v}"
    );
    let (s, v) = deploy(yaml.replace("department:", "deparment:"), admin.clone()).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_bundle"),
        "{v}"
    );
    let d = v["diagnostics"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["code"] == "YJ102"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (d["code"].as_str(), d["line"].as_u64()),
        (Some("YJ102"), Some(7)),
        "{v}"
    );
    assert!(
        d["column"].as_u64().is_some_and(|c| c > 1) && d["hint"].is_string(),
        "{v}"
    );
    let (s, v) = deploy(yaml.to_owned(), server.tokens.window.clone()).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));

    let (s, v) = server
        .get("/v1/bundles/demo/1/graph?format=dot", &server.tokens.window)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.as_str().is_some_and(|t| t.contains("digraph")), "{v}");
    let (s, v) = server
        .get("/v1/bundles/demo/2", &server.tokens.window)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "unknown_bundle"));
    let (s, v) = server
        .get("/v1/bundles/demo/x", &server.tokens.window)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_path"));
    let (s, v) = server
        .post(
            "/v1/cases",
            &server.tokens.window,
            json!({"bundle": "nope", "form": {}}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "unknown_bundle"));
    let mut bad = restaurant("inv-1");
    bad["form"]["floor_area"] = json!("big");
    bad["form"]["uscc"] = json!("123");
    let (s, v) = server.post("/v1/cases", &server.tokens.window, bad).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_submission"),
        "{v}"
    );
    assert!(
        v["error"]["details"]["problems"]
            .as_array()
            .is_some_and(|p| p.len() >= 2),
        "every problem at once: {v}"
    );
    let (s, v) = server.get("/v1/cases", &server.tokens.supervisor).await;
    assert_eq!(
        (s, v["total"].as_u64()),
        (StatusCode::OK, Some(0)),
        "refused submissions store nothing: {v}"
    );
    drop(server.stop().await);
}
