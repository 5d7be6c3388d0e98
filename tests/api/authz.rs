//! The authorisation matrix: every route of the router × every kind of caller — no token, a
//! wrong token, admin, supervisors (root and another city), windows (root, the case's
//! district, another city), a trigger, the case's department (root and another city) and
//! another department with a task in the case. Every cell asserts the exact status; a
//! denied call changes nothing stored and shows none of the case's data. The route list is
//! read from the router's source, so a new route without a row fails the test.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::camunda_python::small_restaurant;
use super::server::{Server, enc, token_configs};

/// A kind of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum P {
    NoToken,
    BadToken,
    Admin,
    Supervisor,
    SupervisorFar,
    Window,
    WindowNear,
    WindowFar,
    Trigger,
    Market,
    MarketFar,
    Urban,
}

const ALL: [P; 12] = [
    P::NoToken,
    P::BadToken,
    P::Admin,
    P::Supervisor,
    P::SupervisorFar,
    P::Window,
    P::WindowNear,
    P::WindowFar,
    P::Trigger,
    P::Market,
    P::MarketFar,
    P::Urban,
];

/// `(name, role, region)` of each configured token; the secret is `secret-<name>`.
const TOKENS: [(P, &str, &str, Option<&str>); 10] = [
    (P::Admin, "admin", "admin", None),
    (P::Supervisor, "supervisor", "supervisor", None),
    (
        P::SupervisorFar,
        "supervisor-wuxi",
        "supervisor",
        Some("3202"),
    ),
    (P::Window, "window", "window", None),
    (P::WindowNear, "window-gulou", "window", Some("320106")),
    (P::WindowFar, "window-wuxi", "window", Some("3202")),
    (P::Trigger, "trigger", "trigger", None),
    (P::Market, "market", "department:market", None),
    (
        P::MarketFar,
        "market-wuxi",
        "department:market",
        Some("3202"),
    ),
    (P::Urban, "urban", "department:urban", None),
];

fn secret(p: P) -> Option<String> {
    match p {
        P::NoToken => None,
        P::BadToken => Some("not-a-token".to_owned()),
        _ => TOKENS
            .iter()
            .find(|t| t.0 == p)
            .map(|t| format!("secret-{}", t.1)),
    }
}

/// Who gets what: the allowed callers' status, 403 for any other valid token, 401 without
/// a valid one. `public` routes answer everybody alike.
#[derive(Debug, Clone)]
struct Row {
    method: Method,
    path: String,
    /// The route as the router writes it, to match the source's list.
    route: &'static str,
    body: Option<Value>,
    /// `(caller, status)` for the callers that pass authorisation (or `public`).
    allowed: Vec<(P, u16)>,
    public: Option<u16>,
    /// Statuses of denied callers other than 403 (e.g. 404 where a denial must not say more).
    denied: Vec<(P, u16)>,
}

fn row(method: Method, route: &'static str, path: String, body: Option<Value>) -> Row {
    Row {
        method,
        path,
        route,
        body,
        allowed: Vec::new(),
        public: None,
        denied: Vec::new(),
    }
}

impl Row {
    fn allow(mut self, who: &[P], status: u16) -> Row {
        self.allowed.extend(who.iter().map(|p| (*p, status)));
        self
    }
    fn public(mut self, status: u16) -> Row {
        self.public = Some(status);
        self
    }
    fn deny(mut self, who: &[P], status: u16) -> Row {
        self.denied.extend(who.iter().map(|p| (*p, status)));
        self
    }
    fn expected(&self, p: P) -> u16 {
        if let Some(s) = self.public {
            return s;
        }
        if let Some((_, s)) = self.allowed.iter().find(|(q, _)| *q == p) {
            return *s;
        }
        if matches!(p, P::NoToken | P::BadToken) {
            return 401;
        }
        self.denied
            .iter()
            .find(|(q, _)| *q == p)
            .map_or(403, |(_, s)| *s)
    }
}

/// Every `(METHOD, route)` the router declares, read from its source.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/serve");
    let mut out = BTreeSet::new();
    for (file, prefix) in [("routes.rs", ""), ("camunda.rs", "/engine-rest")] {
        let text = std::fs::read_to_string(root.join(file)).expect("router source");
        // Without whitespace, whatever rustfmt made of the lines.
        let flat: String = text.split_whitespace().collect();
        for part in flat.split(".route(\"").skip(1) {
            let Some((path, rest)) = part.split_once('"') else {
                continue;
            };
            // The handlers up to the next route: `,get(…)`, `.post(…)`.
            let chain = rest.split(".route(").next().unwrap_or(rest);
            for m in ["get", "post", "put", "delete", "patch"] {
                if chain.contains(&format!(",{m}(")) || chain.contains(&format!(".{m}(")) {
                    out.insert((m.to_uppercase(), format!("{prefix}{path}")));
                }
            }
        }
    }
    out
}

/// The server with the matrix's tokens, and a case in 320106 (鼓楼) with a market and an
/// urban task: `(server, case_no, food_permit task id, progress code)`.
async fn fixture() -> (Server, String, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_in(dir, |c| {
        c.tokens = token_configs(
            TOKENS
                .iter()
                .map(|(_, name, role, region)| (*name, *role, *region, format!("secret-{name}"))),
        );
    })
    .await;
    let (s, v) = server
        .call(
            Method::POST,
            "/v1/cases",
            Some("secret-window"),
            Some(small_restaurant("authz-1")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let case_no = v["case_no"].as_str().expect("case").to_owned();
    let code = v["progress_code"].as_str().expect("code").to_owned();
    let task = format!("{case_no}:food_permit");
    (server, case_no, task, code)
}

fn rows(case: &str, task: &str, code: &str) -> Vec<Row> {
    use P::*;
    let t = enc(task);
    let nonesuch = enc(&format!("{case}:nonesuch"));
    let readers = [Admin, Supervisor, Window, WindowNear];
    let any_token: Vec<P> = TOKENS.iter().map(|t| t.0).collect();
    let windows = [Window, WindowNear];
    let stale = json!({"lease_token": 999_999});
    let far = [SupervisorFar, WindowFar, MarketFar];
    vec![
        row(Method::GET, "/healthz", "/healthz".into(), None).public(200),
        row(Method::GET, "/readyz", "/readyz".into(), None).public(200),
        row(Method::GET, "/metrics", "/metrics".into(), None).public(200),
        row(Method::GET, "/v1/openapi.json", "/v1/openapi.json".into(), None).public(200),
        row(Method::GET, "/guide", "/guide".into(), None).public(200),
        row(Method::GET, "/guide/{bundle}", "/guide/open-restaurant".into(), None).public(200),
        row(Method::GET, "/progress", "/progress".into(), None).public(200),
        row(Method::GET, "/progress.js", "/progress.js".into(), None).public(200),
        row(Method::POST, "/v1/progress", "/v1/progress".into(), Some(json!({"case_no": case, "code": code}))).public(200),
        row(Method::POST, "/v1/bundles", "/v1/bundles".into(), Some(json!("not: [a bundle"))).allow(&[Admin], 422),
        row(Method::GET, "/v1/bundles", "/v1/bundles".into(), None).allow(&any_token, 200),
        row(Method::GET, "/v1/bundles/{id}", "/v1/bundles/open-restaurant".into(), None).allow(&any_token, 200),
        row(Method::GET, "/v1/bundles/{id}/{version}", "/v1/bundles/open-restaurant/1".into(), None).allow(&any_token, 200),
        row(Method::GET, "/v1/bundles/{id}/{version}/graph", "/v1/bundles/open-restaurant/1/graph".into(), None).allow(&any_token, 200),
        row(Method::POST, "/v1/cases", "/v1/cases".into(), Some(json!({"bundle": "no-such-bundle", "region": "320106"})))
            .allow(&windows, 404),
        row(Method::GET, "/v1/cases", "/v1/cases".into(), None)
            .allow(&[Admin, Supervisor, SupervisorFar, Window, WindowNear, WindowFar, Market, MarketFar, Urban], 200),
        row(Method::GET, "/v1/cases/{case_no}", format!("/v1/cases/{case}"), None)
            .allow(&readers, 200).allow(&[Market, Urban], 200),
        row(Method::GET, "/v1/cases/{case_no}/events", format!("/v1/cases/{case}/events"), None)
            .allow(&readers, 200).allow(&[Market, Urban], 200),
        row(Method::POST, "/v1/cases/{case_no}/supplements", format!("/v1/cases/{case}/supplements"), Some(json!({})))
            .allow(&windows, 409),
        row(Method::POST, "/v1/cases/{case_no}/withdraw", format!("/v1/cases/{case}/withdraw"), Some(json!({"reason": ""})))
            .allow(&windows, 422),
        row(Method::POST, "/v1/cases/{case_no}/evaluation", format!("/v1/cases/{case}/evaluation"), Some(json!({"grade": 5})))
            .allow(&windows, 409),
        row(Method::POST, "/v1/cases/{case_no}/confirm", format!("/v1/cases/{case}/confirm"), Some(json!({})))
            .allow(&windows, 409),
        row(Method::POST, "/v1/triggers", "/v1/triggers".into(), Some(json!({"bundle": "no-such-bundle", "source": "s", "event_id": "e"})))
            .allow(&[Trigger], 404),
        row(Method::POST, "/v1/departments/{id}/tasks/fetch", "/v1/departments/market/tasks/fetch".into(), Some(json!({"max": 0})))
            .allow(&[Market, MarketFar], 400),
        row(Method::POST, "/v1/departments/{id}/tasks/complete", "/v1/departments/market/tasks/complete".into(), Some(json!({"completions": []})))
            .allow(&[Market, MarketFar], 400),
        row(Method::POST, "/v1/tasks/{task_id}/heartbeat", format!("/v1/tasks/{t}/heartbeat"), Some(stale.clone())).allow(&[Market], 409),
        row(Method::POST, "/v1/tasks/{task_id}/accept", format!("/v1/tasks/{t}/accept"), Some(stale.clone())).allow(&[Market], 409),
        row(Method::POST, "/v1/tasks/{task_id}/complete", format!("/v1/tasks/{t}/complete"),
            Some(json!({"lease_token": 999_999, "decision": "rejected", "reason": "x"}))).allow(&[Market], 409),
        row(Method::POST, "/v1/tasks/{task_id}/fail", format!("/v1/tasks/{t}/fail"), Some(json!({"lease_token": 999_999, "error": "x"})))
            .allow(&[Market], 409),
        row(Method::POST, "/v1/tasks/{task_id}/suspend", format!("/v1/tasks/{t}/suspend"),
            Some(json!({"lease_token": 999_999, "reason": "公示", "note": "x"}))).allow(&[Market], 409),
        row(Method::POST, "/v1/tasks/{task_id}/resume", format!("/v1/tasks/{t}/resume"), Some(stale.clone())).allow(&[Market], 409),
        row(Method::POST, "/v1/tasks/{task_id}/send-back", format!("/v1/tasks/{t}/send-back"),
            Some(json!({"upstream": "nonesuch", "reason": "x"}))).allow(&[Market], 404),
        row(Method::POST, "/v1/tasks/{task_id}/reassign", format!("/v1/tasks/{t}/reassign"),
            Some(json!({"region": "320104", "reason": " "}))).allow(&[Admin, Supervisor], 422),
        row(Method::POST, "/v1/cases/{case_no}/items", format!("/v1/cases/{case}/items"),
            Some(json!({"task": "nonesuch"}))).allow(&windows, 404),
        row(Method::POST, "/v1/cases/{case_no}/items/{task}/remove", format!("/v1/cases/{case}/items/nonesuch/remove"),
            Some(json!({"reason": "x"}))).allow(&windows, 404),
        row(Method::POST, "/v1/bundles/{id}/migrations", "/v1/bundles/open-restaurant/migrations".into(),
            Some(json!({"from_version": 1, "to_version": 99}))).allow(&[Admin], 404),
        row(Method::GET, "/v1/incidents", "/v1/incidents".into(), None).allow(&[Admin, Supervisor, SupervisorFar], 200),
        row(Method::POST, "/v1/incidents/{id}/retry", format!("/v1/incidents/{nonesuch}/retry"), Some(json!({}))).allow(&[Admin], 404),
        row(Method::POST, "/v1/incidents/{id}/cancel", format!("/v1/incidents/{nonesuch}/cancel"), Some(json!({"reason": "x"}))).allow(&[Admin], 404),
        row(Method::GET, "/v1/cases/{case_no}/why", format!("/v1/cases/{case}/why"), None)
            .allow(&readers, 200).allow(&[Market, Urban], 200),
        row(Method::GET, "/v1/board", "/v1/board".into(), None).allow(&[Admin, Supervisor, SupervisorFar], 200),
        row(Method::POST, "/v1/bundles/simulate", "/v1/bundles/simulate".into(), Some(json!({"yaml": "x", "script": "y"})))
            .allow(&any_token, 200),
        row(Method::POST, "/v1/bundles/check", "/v1/bundles/check".into(), Some(json!("not: [a bundle"))).allow(&any_token, 200),
        row(Method::POST, "/v1/bundles/{id}/preview", "/v1/bundles/open-restaurant/preview".into(), Some(json!({})))
            .allow(&[Admin, Window, WindowNear, WindowFar], 200),
        // The console: its page and files are public; `/` and `/console` lead to it.
        row(Method::GET, "/", "/".into(), None).public(200),
        row(Method::GET, "/console", "/console".into(), None).public(200),
        row(Method::GET, "/console/", "/console/".into(), None).public(200),
        row(Method::GET, "/console/{file}", "/console/app.js".into(), None).public(200),
        // A session is a cookie: with a bearer token (or none) there is none to show, and a
        // wrong token logs nobody in.
        row(Method::GET, "/console/session", "/console/session".into(), None).public(401),
        row(Method::POST, "/console/login", "/console/login".into(), Some(json!({"token": "not-a-token"}))).public(401),
        row(Method::POST, "/console/logout", "/console/logout".into(), Some(json!({}))).allow(&any_token, 204),
        row(Method::GET, "/engine-rest/engine", "/engine-rest/engine".into(), None).public(200),
        row(Method::GET, "/engine-rest/version", "/engine-rest/version".into(), None).public(200),
        row(Method::GET, "/engine-rest/external-task", "/engine-rest/external-task".into(), None)
            .allow(&[Admin, Supervisor, SupervisorFar, Market, MarketFar, Urban], 200),
        row(Method::GET, "/engine-rest/external-task/count", "/engine-rest/external-task/count".into(), None)
            .allow(&[Admin, Supervisor, SupervisorFar, Market, MarketFar, Urban], 200),
        row(Method::POST, "/engine-rest/external-task/fetchAndLock", "/engine-rest/external-task/fetchAndLock".into(),
            Some(json!({"workerId": "w", "maxTasks": 0, "topics": [{"topicName": "market", "lockDuration": 1000}]})))
            .allow(&[Market, MarketFar], 200),
        row(Method::GET, "/engine-rest/external-task/{id}", format!("/engine-rest/external-task/{task}"), None)
            .allow(&[Admin, Supervisor, Market], 200),
        row(Method::POST, "/engine-rest/external-task/{id}/complete", format!("/engine-rest/external-task/{task}/complete"),
            Some(json!({"workerId": "w"}))).allow(&[Market], 400),
        row(Method::POST, "/engine-rest/external-task/{id}/bpmnError", format!("/engine-rest/external-task/{task}/bpmnError"),
            Some(json!({"workerId": "w", "errorCode": "REFUSED", "errorMessage": "x"}))).allow(&[Market], 400),
        row(Method::POST, "/engine-rest/external-task/{id}/failure", format!("/engine-rest/external-task/{task}/failure"),
            Some(json!({"workerId": "w", "errorMessage": "x", "retries": 0}))).allow(&[Market], 400),
        row(Method::POST, "/engine-rest/external-task/{id}/extendLock", format!("/engine-rest/external-task/{task}/extendLock"),
            Some(json!({"workerId": "w", "newDuration": 1000}))).allow(&[Market], 400),
        row(Method::POST, "/engine-rest/external-task/{id}/lock", format!("/engine-rest/external-task/{task}/lock"),
            Some(json!({"workerId": "w", "lockDuration": 0}))).allow(&[Market], 400),
        row(Method::POST, "/engine-rest/external-task/{id}/unlock", format!("/engine-rest/external-task/{task}/unlock"), None)
            .allow(&[Market], 204),
    ]
    .into_iter()
    .map(|r| r.deny(&far, 403))
    .collect()
}

/// What a denied answer must not show: the case's form values.
const PRIVATE: [&str; 3] = ["老王面馆", "王五", "91320106MA1XY01234"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_times_every_caller_answers_as_the_matrix_says() {
    let (server, case, task, code) = fixture().await;
    let rows = rows(&case, &task, &code);
    let in_source = routes_in_source();
    let in_matrix: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_string(), r.route.to_owned()))
        .collect();
    assert_eq!(
        in_source, in_matrix,
        "every route of the router has a row of the matrix (and no row names a route that is gone)"
    );
    let path = format!("/v1/cases/{case}/events?per_page=1000");
    let events = || async {
        let (s, v) = server
            .call(Method::GET, &path, Some("secret-admin"), None)
            .await;
        assert_eq!(s, StatusCode::OK);
        v
    };
    let mut wrong = Vec::new();
    for r in &rows {
        for p in ALL {
            let want = r.expected(p);
            let before = events().await;
            let token = secret(p);
            let mut req = server
                .client
                .request(r.method.clone(), format!("{}{}", server.base, r.path));
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            req = match &r.body {
                Some(Value::String(raw)) => req
                    .header("content-type", "application/yaml")
                    .body(raw.clone()),
                Some(b) => req.json(b),
                None => req,
            };
            let res = req.send().await.expect("sent");
            let got = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            if got != want {
                wrong.push(format!(
                    "{} {} as {p:?}: {got}, want {want}: {text}",
                    r.method, r.path
                ));
                continue;
            }
            if matches!(got, 401 | 403) {
                if events().await != before {
                    wrong.push(format!(
                        "{} {} as {p:?} was denied but changed the case",
                        r.method, r.path
                    ));
                }
                if let Some(s) = PRIVATE.iter().find(|s| text.contains(*s)) {
                    wrong.push(format!(
                        "{} {} as {p:?} was denied but showed `{s}`",
                        r.method, r.path
                    ));
                }
            }
        }
    }
    // Region scopes see nothing of another city, even where a list answers 200.
    for p in [P::SupervisorFar, P::WindowFar, P::MarketFar] {
        let (s, v) = server
            .call(Method::GET, "/v1/cases", secret(p).as_deref(), None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            !v.to_string().contains(&case),
            "{p:?} sees {case} of another city: {v}"
        );
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    server.stop().await;
}

/// Repeated wrong tokens from one address are refused for a while — the right token too,
/// or guessing would go on — with `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_tokens_are_rate_limited() {
    let server = Server::start().await;
    for i in 0..yijian::serve::auth::WRONG_TOKENS {
        let (s, _) = server
            .call(
                Method::GET,
                "/v1/bundles",
                Some(&format!("guess-{i}")),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let res = server
        .client
        .get(format!("{}/v1/bundles", server.base))
        .bearer_auth(&server.tokens.admin)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    server.stop().await;
}
