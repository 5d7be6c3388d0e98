//! `/engine-rest` endpoint by endpoint over HTTP: the shapes Camunda's REST reference
//! gives, its error bodies `{type, message}` and status codes, lock ownership by worker,
//! and that a refused call changes nothing stored.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::camunda_python::submit;
use super::server::Server;

const REST: &str = "/engine-rest/external-task";

/// `POST` to `/engine-rest/external-task{path}` with a department's token.
async fn post(server: &Server, dep: &str, path: &str, body: Value) -> (StatusCode, Value) {
    server
        .post(&format!("{REST}{path}"), &server.dept(dep), body)
        .await
}

/// Long-polls `topic` for the case's task, as `worker`.
async fn lock(server: &Server, dep: &str, topic: &str, worker: &str, case: &str) -> Value {
    let start = Instant::now();
    loop {
        let (s, v) = post(
            server,
            dep,
            "/fetchAndLock",
            json!({"workerId": worker, "maxTasks": 5, "asyncResponseTimeout": 2000,
                   "topics": [{"topicName": topic, "lockDuration": 60000}]}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if let Some(t) = v
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["businessKey"] == case))
        {
            return t.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "nothing on {topic}"
        );
    }
}

fn is_error(v: &Value, kind: &str) -> bool {
    v["type"] == kind && v["message"].as_str().is_some_and(|m| !m.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_task_has_camundas_shape_and_typed_variables() {
    let server = Server::start().await;
    let case = submit(&server, "camunda-shape").await;
    let t = lock(&server, "market", "market.food_permit", "w1", &case).await;
    for key in [
        "id",
        "topicName",
        "workerId",
        "lockExpirationTime",
        "processInstanceId",
        "businessKey",
        "processDefinitionKey",
        "processDefinitionId",
        "activityId",
        "activityInstanceId",
        "executionId",
        "retries",
        "errorMessage",
        "errorDetails",
        "priority",
        "tenantId",
        "createTime",
        "variables",
        "extensionProperties",
    ] {
        assert!(t.get(key).is_some(), "`{key}` missing in {t}");
    }
    assert_eq!(t["id"], format!("{case}:food_permit"));
    assert_eq!(t["topicName"], "market.food_permit");
    assert_eq!(t["activityId"], "food_permit");
    assert_eq!(t["processDefinitionKey"], "open-restaurant");
    assert_eq!(t["processDefinitionId"], "open-restaurant:1");
    assert_eq!(t["workerId"], "w1");
    assert_eq!(t["retries"], Value::Null);
    let lock_until = t["lockExpirationTime"].as_str().expect("lock time");
    assert!(
        lock_until.len() == 28 && lock_until.ends_with("+0000"),
        "yyyy-MM-dd'T'HH:mm:ss.SSSZ: {lock_until}"
    );
    let v = &t["variables"];
    assert_eq!(
        v["uscc"],
        json!({"type": "String", "value": "91320106MA1XY01234", "valueInfo": {}})
    );
    assert_eq!(v["categories"]["type"], "Json");
    let categories: Value =
        serde_json::from_str(v["categories"]["value"].as_str().expect("json text")).expect("json");
    assert_eq!(categories, json!([{"category": "hot_food"}]));
    assert_eq!(v["_deadline"]["type"], "Date");
    assert_eq!(t["extensionProperties"]["department"], "market");

    // `variables` narrows what comes back.
    let (s, _) = post(
        &server,
        "market",
        &format!("/{}/unlock", t["id"].as_str().unwrap_or("")),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, got) = post(
        &server,
        "market",
        "/fetchAndLock",
        json!({"workerId": "w2", "maxTasks": 1,
               "topics": [{"topicName": "market", "lockDuration": 1000, "variables": ["uscc"]}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    let names: Vec<&String> = got[0]["variables"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(names, ["uscc"], "{got}");
    assert_eq!(got[0]["topicName"], "market");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fetches_get_camundas_errors() {
    let server = Server::start().await;
    let topic = json!([{"topicName": "market", "lockDuration": 1000}]);
    for (body, want) in [
        (json!({"maxTasks": 1, "topics": topic}), "workerId"),
        (json!({"workerId": "w", "topics": topic}), "maxTasks"),
        (
            json!({"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "market"}]}),
            "lockDuration",
        ),
        (
            json!({"workerId": "w", "maxTasks": 1,
                   "topics": [{"topicName": "market", "lockDuration": -5}]}),
            "lockDuration",
        ),
        (
            json!({"workerId": "w", "maxTasks": 1,
                   "topics": [{"topicName": "market", "lockDuration": 1000},
                              {"topicName": "urban", "lockDuration": 1000}]}),
            "two departments",
        ),
        (
            json!({"workerId": "w", "maxTasks": 1,
                   "topics": [{"topicName": "market", "lockDuration": 1000,
                               "processDefinitionKey": "open-restaurant"}]}),
            "processDefinitionKey",
        ),
        (
            json!({"workerId": "w", "maxTasks": 1, "topics": topic,
                   "sorting": [{"sortBy": "createTime", "sortOrder": "desc"}]}),
            "oldest first",
        ),
    ] {
        let (s, v) = post(&server, "market", "/fetchAndLock", body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(is_error(&v, "InvalidRequestException"), "{v}");
        assert!(
            v["message"].as_str().unwrap_or("").contains(want),
            "{body}: {v}"
        );
    }
    // Another department's topic, no token, a wrong token.
    let body = json!({"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "urban", "lockDuration": 1000}]});
    let (s, v) = post(&server, "market", "/fetchAndLock", body.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(is_error(&v, "AuthorizationException"), "{v}");
    let (s, v) = server
        .call(
            Method::POST,
            &format!("{REST}/fetchAndLock"),
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert!(is_error(&v, "AuthenticationException"), "{v}");
    // A long poll with nothing to fetch answers `[]` when its timeout passes.
    let start = Instant::now();
    let (s, v) = post(
        &server,
        "fire",
        "/fetchAndLock",
        json!({"workerId": "w", "maxTasks": 3, "asyncResponseTimeout": 300,
               "topics": [{"topicName": "fire", "lockDuration": 1000}]}),
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!([])));
    assert!(start.elapsed() >= Duration::from_millis(250), "it waited");
    // Unknown resources of the Camunda API.
    let (s, v) = server
        .post(
            "/engine-rest/process-definition/key/x/start",
            &server.tokens.admin,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert!(is_error(&v, "RestException"), "{v}");
    let (s, v) = server
        .get("/engine-rest/version", &server.tokens.admin)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v["version"].as_str().is_some_and(|v| v.starts_with("7.")),
        "{v}"
    );
    let (s, v) = server
        .get("/engine-rest/engine", &server.tokens.admin)
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!([{"name": "default"}])));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lock_holder_answers_and_a_refused_call_changes_nothing() {
    let server = Server::start().await;
    let case = submit(&server, "camunda-holder").await;
    let t = lock(&server, "market", "market", "holder", &case).await;
    let id = t["id"].as_str().expect("id").to_owned();
    let before = server.events(&case).await;
    let output = json!({"permit_no": {"value": "JY1", "type": "String"},
                        "food_permit_pdf": {"type": "Json",
                            "value": "{\"name\":\"a.pdf\",\"uri\":\"https://x.invalid/a\",\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"}});
    for (path, body) in [
        (
            "complete",
            json!({"workerId": "other", "variables": output}),
        ),
        (
            "failure",
            json!({"workerId": "other", "errorMessage": "x", "retries": 0}),
        ),
        (
            "bpmnError",
            json!({"workerId": "other", "errorCode": "REFUSED", "errorMessage": "x"}),
        ),
        (
            "extendLock",
            json!({"workerId": "other", "newDuration": 1000}),
        ),
    ] {
        let (s, v) = post(&server, "market", &format!("/{id}/{path}"), body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert!(is_error(&v, "BadUserRequestException"), "{path}: {v}");
        assert!(
            v["message"].as_str().unwrap_or("").contains("holder"),
            "{v}"
        );
    }
    let (s, v) = post(
        &server,
        "market",
        &format!("/{id}/lock"),
        json!({"workerId": "other", "lockDuration": 1000}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(is_error(&v, "InvalidRequestException"), "{v}");
    // Bad values, named; unknown ids and outputs.
    for (body, want) in [
        (
            json!({"workerId": "holder", "variables": {"permit_no": {"value": 5, "type": "Integer"}}}),
            "permit_no",
        ),
        (
            json!({"workerId": "holder", "variables": {"permit_no": {"value": "x", "type": "Long"}}}),
            "permit_no",
        ),
        (
            json!({"workerId": "holder", "variables": {"colour": {"value": "red"}}}),
            "colour",
        ),
        (
            json!({"workerId": "holder", "variables": {"permit_no": {"value": "AAAA", "type": "Bytes"}}}),
            "licence",
        ),
        (json!({"variables": output}), "workerId"),
    ] {
        let (s, v) = post(&server, "market", &format!("/{id}/complete"), body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(
            v["message"].as_str().unwrap_or("").contains(want),
            "{body}: {v}"
        );
    }
    let (s, v) = post(
        &server,
        "market",
        &format!("/{id}/bpmnError"),
        json!({"workerId": "holder", "errorCode": "SUPPLEMENT"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"].as_str().unwrap_or("").contains("missing"),
        "{v}"
    );
    let (s, v) = post(
        &server,
        "market",
        &format!("/{id}/bpmnError"),
        json!({"workerId": "holder", "errorCode": "REFUSED"}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a refusal needs its reason: {v}"
    );
    let (s, v) = post(
        &server,
        "market",
        &format!("/{case}:nonesuch/complete"),
        json!({"workerId": "holder"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert!(is_error(&v, "NotFoundException"), "{v}");
    let (s, v) = post(
        &server,
        "market",
        "/nonsense/complete",
        json!({"workerId": "holder"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = post(
        &server,
        "urban",
        &format!("/{id}/complete"),
        json!({"workerId": "holder", "variables": output}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another department's token: {v}");
    assert_eq!(
        server.events(&case).await,
        before,
        "refused calls stored nothing"
    );

    // The holder: a wrong worker's lock attempt left it alone; complete ends it.
    let (s, seen) = server
        .get(&format!("{REST}/{id}"), &server.dept("market"))
        .await;
    assert_eq!(
        (s, &seen["workerId"]),
        (StatusCode::OK, &json!("holder")),
        "{seen}"
    );
    let (s, v) = post(
        &server,
        "market",
        &format!("/{id}/complete"),
        json!({"workerId": "holder", "variables": output}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = server
        .get(&format!("{REST}/{id}"), &server.dept("market"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a completed task is gone: {v}");
    let (s, v) = post(
        &server,
        "market",
        &format!("/{id}/complete"),
        json!({"workerId": "holder", "variables": output}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a second completion: {v}");
    let c = server.case(&case).await;
    let food = c["tasks"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == "food_permit"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(food["status"], "approved");
    assert_eq!(food["output"]["permit_no"], "JY1");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_queries_locks_and_per_topic_lock_durations() {
    let server = Server::start().await;
    let case = submit(&server, "camunda-fail").await;
    let now = jiff::Timestamp::now();
    // Two topics of one department: the task's own topic gives its lock duration.
    let start = Instant::now();
    let t = loop {
        let (s, v) = post(
            &server,
            "market",
            "/fetchAndLock",
            json!({"workerId": "w", "maxTasks": 2, "asyncResponseTimeout": 2000,
                   "topics": [{"topicName": "market", "lockDuration": 3_600_000},
                              {"topicName": "market.food_permit", "lockDuration": 20_000}]}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if let Some(t) = v.as_array().and_then(|a| a.first()) {
            break t.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "nothing fetched");
    };
    assert_eq!(t["topicName"], "market.food_permit");
    let id = t["id"].as_str().expect("id").to_owned();
    let (s, seen) = server
        .get(&format!("{REST}/{id}"), &server.dept("market"))
        .await;
    assert_eq!(s, StatusCode::OK, "{seen}");
    let until = jiff::fmt::strtime::parse(
        "%Y-%m-%dT%H:%M:%S%.f%z",
        seen["lockExpirationTime"].as_str().unwrap_or(""),
    )
    .and_then(|t| t.to_timestamp())
    .expect("a Camunda date");
    let held = until.duration_since(now);
    assert!(
        held < jiff::SignedDuration::from_mins(5) && held > jiff::SignedDuration::from_secs(5),
        "locked for the food_permit topic's 20 s, not the other's hour: {held}"
    );

    // Queries.
    let dep = server.dept("market");
    let count = |q: &'static str| {
        let dep = dep.clone();
        let server = &server;
        async move {
            let (s, v) = server.get(&format!("{REST}/count?{q}"), &dep).await;
            assert_eq!(s, StatusCode::OK, "{q}: {v}");
            v["count"].as_u64().expect("count")
        }
    };
    assert_eq!(count("locked=true").await, 1);
    assert_eq!(count("notLocked=true").await, 0);
    assert_eq!(count("workerId=w").await, 1);
    assert_eq!(count("workerId=nobody").await, 0);
    assert_eq!(count("topicName=market.food_permit").await, 1);
    assert_eq!(count("activityId=licence_check").await, 0);
    let (s, list) = server
        .get(&format!("{REST}?processInstanceId={case}"), &dep)
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["suspended"], false);
    let (s, v) = server
        .get(&format!("{REST}/count"), &server.tokens.window)
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a window token lists no tasks: {v}"
    );
    let (s, v) = server
        .get(&format!("{REST}/count"), &server.tokens.supervisor)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["count"].as_u64().is_some_and(|n| n >= 3),
        "every department: {v}"
    );

    // Unlock frees it for another worker; `lock` takes a task that is not locked.
    let (s, _) = post(&server, "market", &format!("/{id}/unlock"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(count("notLocked=true").await, 1);
    let (s, v) = post(
        &server,
        "market",
        &format!("/{id}/lock"),
        json!({"workerId": "w2", "lockDuration": 60000}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(count("workerId=w2").await, 1);

    // retries 0: an incident at once, as in Camunda; not fetchable, listed with no retries.
    let (s, v) = post(
        &server,
        "market",
        &format!("/{id}/failure"),
        json!({"workerId": "w2", "errorMessage": "卷宗系统不可用", "errorDetails": "HTTP 502",
               "retries": 0, "retryTimeout": 0}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, seen) = server.get(&format!("{REST}/{id}"), &dep).await;
    assert_eq!(s, StatusCode::OK, "{seen}");
    assert_eq!(seen["retries"], 0);
    assert!(
        seen["errorMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("卷宗系统不可用")),
        "{seen}"
    );
    assert_eq!(count("noRetriesLeft=true").await, 1);
    assert_eq!(count("withRetriesLeft=true").await, 0);
    let (s, v) = post(
        &server,
        "market",
        "/fetchAndLock",
        json!({"workerId": "w", "maxTasks": 5, "topics": [{"topicName": "market", "lockDuration": 1000}]}),
    )
    .await;
    assert_eq!(
        (s, v),
        (StatusCode::OK, json!([])),
        "an incident is not fetched"
    );
    let (s, incidents) = server.get("/v1/incidents", &server.tokens.admin).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        incidents.to_string().contains("卷宗系统不可用"),
        "an operator sees it: {incidents}"
    );
    // Basic auth with the token as password works as the bearer token does.
    let res = server
        .client
        .get(format!("{}{REST}/{id}", server.base))
        .basic_auth("market", Some(server.dept("market")))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::OK);
    let res = server
        .client
        .get(format!("{}{REST}/{id}", server.base))
        .basic_auth("market", Some("not-the-token"))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}
