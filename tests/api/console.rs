//! The web console: its login cookie and CSRF rule over real HTTP, the views it is built on
//! (preview, why, check), and the whole console in headless Chromium (tests/browser/
//! console.mjs, driven by playwright-core like the public pages' test).

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use super::server::{Server, restaurant, token_configs};

/// Tokens of the console tests: (name, role, region, secret).
const TOKENS: &[(&str, &str, Option<&str>, &str)] = &[
    ("admin", "admin", None, "t-admin"),
    ("window", "window", None, "t-window"),
    ("supervisor", "supervisor", None, "t-supervisor"),
    (
        "supervisor-nj",
        "supervisor",
        Some("3201"),
        "t-supervisor-nj",
    ),
    ("market", "department:market", None, "t-market"),
    ("window-sz", "window", Some("3205"), "t-window-sz"),
];

/// A bundle whose case turns red two seconds after acceptance.
const LATE: &str = "yijian: 1\nid: late-demo\nversion: 1\ntitle: 逾期演示\ncalendar: cn\n\
time_limit: 2s\nguide:\n  departments: {market: 市场监督管理局}\ntasks:\n  \
review: {title: 逾期审查, department: market, time_limit: 2s}\n";

async fn server() -> Server {
    let dir = tempfile::tempdir().expect("dir");
    Server::start_in(dir, |c| {
        // 开办餐饮店 is offered in Nanjing (3201) only.
        c.offered_in = [("open-restaurant".to_owned(), vec!["3201".to_owned()])].into();
        c.tokens = token_configs(
            TOKENS
                .iter()
                .map(|(n, r, g, secret)| (*n, *r, *g, (*secret).to_owned())),
        );
    })
    .await
}

/// Logs in; returns the cookie header value and the CSRF token.
async fn login(server: &Server, token: &str) -> (String, String) {
    let res = server
        .client
        .post(format!("{}/console/login", server.base))
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let set = res
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a cookie")
        .to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set} has {part}");
    }
    let body: Value = res.json().await.expect("json");
    let cookie = set.split(';').next().expect("name=value").to_owned();
    (cookie, body["csrf"].as_str().expect("csrf").to_owned())
}

async fn case_count(server: &Server) -> u64 {
    let (s, v) = server.get("/v1/cases?per_page=1", "t-supervisor").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["total"].as_u64().expect("total")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_session_is_a_cookie_and_every_change_needs_its_csrf_token() {
    let server = server().await;
    let url = |p: &str| format!("{}{p}", server.base);
    let (s, _) = (
        server
            .client
            .get(url("/"))
            .send()
            .await
            .expect("root")
            .url()
            .path()
            .to_owned(),
        (),
    );
    assert_eq!(s, "/console/", "/ leads to the console");
    let page = server
        .client
        .get(url("/console/"))
        .send()
        .await
        .expect("page");
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(page.text().await.expect("html").contains("/console/app.js"));

    // A form post (what another site could send) cannot log in; a wrong token is a 401.
    let form = server
        .client
        .post(url("/console/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("token=t-window")
        .send()
        .await
        .expect("form login");
    assert_eq!(form.status(), StatusCode::BAD_REQUEST);
    assert!(form.headers().get(SET_COOKIE).is_none());
    let wrong = server
        .client
        .post(url("/console/login"))
        .json(&json!({"token": "t-nobody"}))
        .send()
        .await
        .expect("wrong login");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let (cookie, csrf) = login(&server, "t-window").await;
    let session: Value = server
        .client
        .get(url("/console/session"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    assert_eq!(session["role"], "window");
    assert_eq!(session["csrf"], csrf.as_str());
    assert!(
        !session.to_string().contains("t-window"),
        "the token is never sent back"
    );

    // The cookie reads; it does not write without the CSRF header, nor with a wrong one.
    let before = case_count(&server).await;
    let post = |csrf: Option<&str>| {
        let mut req = server
            .client
            .post(url("/v1/cases"))
            .header(COOKIE, &cookie)
            .json(&restaurant("console-csrf"));
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.send()
    };
    for forged in [None, Some("0".repeat(64).as_str())] {
        let res = post(forged).await.expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let v: Value = res.json().await.expect("json");
        assert_eq!(v["error"]["code"], "csrf", "{v}");
    }
    assert_eq!(case_count(&server).await, before, "nothing was stored");
    let ok = post(Some(&csrf)).await.expect("post");
    assert_eq!(ok.status(), StatusCode::CREATED);
    assert_eq!(case_count(&server).await, before + 1);

    // Logging out clears the cookie (and needs the header too).
    let out = server
        .client
        .post(url("/console/logout"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::FORBIDDEN);
    let out = server
        .client
        .post(url("/console/logout"))
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let cleared = out
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_why_and_check_answer_what_the_console_shows() {
    let server = server().await;
    // A partial form: what is missing, the items decided so far, the dates.
    let (s, p) = server
        .post(
            "/v1/bundles/open-restaurant/preview",
            "t-window",
            json!({"region": "320106", "form": {"floor_area": 400}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let applies = |p: &Value, task: &str| {
        p["tasks"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["name"] == task))
            .map(|t| t["applies"].clone())
            .unwrap_or(Value::String("absent".into()))
    };
    assert_eq!(applies(&p, "fire_check"), json!(true), "{p}");
    assert_eq!(applies(&p, "tobacco"), json!(false), "{p}");
    assert!(
        p["problems"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|x| x["path"] == "form.uscc")),
        "{p}"
    );
    let material = |p: &Value, id: &str| {
        p["materials"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["id"] == id))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(material(&p, "fire_commitment")["needed"], true);
    assert_eq!(material(&p, "business_licence")["source"], "shared");
    assert_eq!(material(&p, "lease")["deferrable"], "3wd");
    // (The statutory 20 working days may end beyond the calendar's known years: then null.)
    assert!(p["due"].is_string(), "{p}");
    // A complete application: no problems, the real submission decided on a scratch case.
    let mut app = restaurant("preview-full");
    let body = json!({"region": "320106", "form": app["form"].take(), "materials": app["materials"].take()});
    let (s, full) = server
        .post("/v1/bundles/open-restaurant/preview", "t-window", body)
        .await;
    assert_eq!(s, StatusCode::OK, "{full}");
    assert_eq!(full["problems"], json!([]), "{full}");
    assert_eq!(applies(&full, "tobacco"), json!(true));
    assert_eq!(case_count(&server).await, 0, "a preview stores nothing");
    let (s, v) = server
        .post("/v1/bundles/nowhere/preview", "t-window", json!({}))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_bundle"))
    );
    let (s, _) = server
        .post("/v1/bundles/open-restaurant/preview", "t-market", json!({}))
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a department does not take applications"
    );

    // Why: the food permit holds the case at the market, with working days left.
    let (s, case) = server
        .post(
            "/v1/cases",
            "t-window",
            super::camunda_python::small_restaurant("why-1"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let no = case["case_no"].as_str().expect("case_no");
    let (s, why) = server
        .get(&format!("/v1/cases/{no}/why"), "t-supervisor")
        .await;
    assert_eq!(s, StatusCode::OK, "{why}");
    let holding = why["holding"].as_array().expect("holding");
    // The small restaurant has a signboard and sells tobacco: three items hold it.
    let permit = holding
        .iter()
        .find(|h| h["name"] == "food_permit")
        .expect("the food permit holds the case");
    assert_eq!(holding.len(), 3, "{why}");
    assert_eq!(permit["department_name"], "市场监督管理局");
    assert!(
        permit["working_days_left"].as_i64().is_some_and(|n| n >= 2),
        "{why}"
    );
    // The tobacco licence has the longest limit (4 working days): the critical path.
    assert_eq!(why["critical_path"], json!(["tobacco"]), "{why}");
    assert!(why["completion_by_limits"].is_string(), "{why}");
    let (s, _) = server.get(&format!("/v1/cases/{no}/why"), "t-market").await;
    assert_eq!(s, StatusCode::OK, "the market has a task in it");

    // Check: a bad bundle's diagnostics at their line, a good one compiled, nothing deployed.
    let check = |yaml: &'static str| {
        server
            .client
            .post(format!("{}/v1/bundles/check", server.base))
            .bearer_auth("t-admin")
            .header(CONTENT_TYPE, "application/yaml")
            .body(yaml)
            .send()
    };
    let bad: Value = check("yijian: 1\nid: d\nversion: 1\ntitle: x\ntasks:\n  a: {title: 甲, department: m, after: [nowhere]}\n")
        .await
        .expect("check")
        .json()
        .await
        .expect("json");
    assert_eq!(bad["ok"], false, "{bad}");
    assert_eq!(bad["diagnostics"][0]["line"], 6, "{bad}");
    let good: Value = check(LATE)
        .await
        .expect("check")
        .json()
        .await
        .expect("json");
    assert_eq!(good["ok"], true, "{good}");
    assert_eq!(good["bundle"]["tasks"][0]["id"], "review");
    // Simulate: the late bundle's case, due two seconds after acceptance, is red by the end.
    let script = "bundle: x\nsteps:\n  - at: 2026-09-18T09:00:00+08:00\n    submit: {}\n  \
                  - until: 2026-09-18T09:00:10+08:00\n";
    let (s, sim) = server
        .post(
            "/v1/bundles/simulate",
            "t-supervisor",
            json!({"yaml": LATE, "script": script}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{sim}");
    assert_eq!(sim["ok"], true, "{sim}");
    assert_eq!(sim["result"]["case"]["warning"], "red", "{sim}");
    assert!(
        sim["table"]
            .as_str()
            .is_some_and(|t| t.contains("warning_red")),
        "{sim}"
    );
    let (_, bad) = server
        .post(
            "/v1/bundles/simulate",
            "t-supervisor",
            json!({"yaml": "yijian: 1\nid: d\n", "script": script}),
        )
        .await;
    assert_eq!(bad["ok"], false, "{bad}");
    assert!(
        bad["error"].as_str().is_some_and(|e| e.contains("bundle:")),
        "{bad}"
    );
    let (s, _) = server.get("/v1/bundles/late-demo", "t-admin").await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "checking and simulating deploy nothing"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_is_offered_only_where_configured() {
    let server = server().await;
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|b| b["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, all) = server.get("/v1/bundles", "t-window").await;
    assert!(ids(&all).contains(&"open-restaurant".to_owned()), "{all}");
    let (_, sz) = server.get("/v1/bundles", "t-window-sz").await;
    assert!(
        !ids(&sz).contains(&"open-restaurant".to_owned()),
        "not in Suzhou: {sz}"
    );
    assert!(
        ids(&sz).contains(&"company-setup".to_owned()),
        "the others are: {sz}"
    );
    let mut app = restaurant("offer-sz");
    app["region"] = json!("320506");
    let before = case_count(&server).await;
    let (s, v) = server.post("/v1/cases", "t-window", app).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not_offered")),
        "{v}"
    );
    assert_eq!(case_count(&server).await, before, "nothing stored");
    let (s, v) = server
        .post(
            "/v1/bundles/open-restaurant/preview",
            "t-window-sz",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = server
        .post("/v1/cases", "t-window", restaurant("offer-nj"))
        .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "Nanjing (320106) is where it is offered: {v}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_chromium() {
    let Some(browser) = super::pages::browser() else {
        println!("no Chromium with playwright-core (see .ci/run); skipping");
        return;
    };
    let server = server().await;
    let res = server
        .client
        .post(format!("{}/v1/bundles", server.base))
        .bearer_auth("t-admin")
        .header(CONTENT_TYPE, "application/yaml")
        .body(LATE)
        .send()
        .await
        .expect("deploy");
    assert_eq!(res.status(), StatusCode::CREATED);
    let submit = |region: &'static str, key: &'static str| {
        server.post(
            "/v1/cases",
            "t-window",
            json!({"bundle": "late-demo", "region": region, "idempotency_key": key}),
        )
    };
    let (s, late) = submit("320106", "late-nj").await;
    assert_eq!(s, StatusCode::CREATED, "{late}");
    let (s, far) = submit("320506", "late-sz").await;
    assert_eq!(s, StatusCode::CREATED, "{far}");
    let late = late["case_no"].as_str().expect("case_no").to_owned();
    // Red once its two seconds have passed and the timer has fired.
    let mut red = false;
    for _ in 0..100 {
        let (_, v) = server
            .get(&format!("/v1/cases/{late}"), "t-supervisor")
            .await;
        if v["warning"] == "red" {
            red = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(red, "the late case turned red");

    let tokens = json!({"window": "t-window", "market": "t-market",
        "supervisor_nj": "t-supervisor-nj", "admin": "t-admin"});
    let far = far["case_no"].as_str().expect("case_no").to_owned();
    let shots = super::pages::run_script(
        browser,
        "console.mjs",
        &server.base,
        vec![
            ("TOKENS", tokens.to_string()),
            ("LATE_CASE", late),
            ("FAR_CASE", far),
        ],
        "console: done",
    )
    .await;
    for png in ["intake", "receipt", "desk", "case", "board", "designer"] {
        assert!(
            shots.join(format!("console-{png}.png")).exists(),
            "{png} was saved"
        );
    }
    server.stop().await;
}
