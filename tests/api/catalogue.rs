//! The bad-input catalogue of docs/bad-input.md, row by row over HTTP: each input gets its
//! documented status and error code, with a message, and the store is byte for byte what it
//! was — a digest of every row of every table, read from the SQLite file, before and after.
//! The test also checks that the document lists exactly these rows, with these answers.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::server::{Server, enc, output_for, restaurant};

/// One bad input.
struct Bad {
    id: &'static str,
    method: &'static str,
    path: String,
    token: Option<String>,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn bad(
    id: &'static str,
    method: &'static str,
    path: impl Into<String>,
    token: Option<&str>,
    body: impl Into<Vec<u8>>,
    status: u16,
    code: &'static str,
) -> Bad {
    Bad {
        id,
        method,
        path: path.into(),
        token: token.map(str::to_owned),
        content_type: "application/json",
        body: body.into(),
        status,
        code,
    }
}

fn j(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// A digest of every row of every table of the server's SQLite file.
pub(super) async fn digest(server: &Server) -> String {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let url = format!(
        "sqlite://{}?mode=ro",
        server.dir.path().join("yijian.db").display()
    );
    let db = Database::connect(&url).await.expect("read the store");
    let tables = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        ))
        .await
        .expect("tables");
    let mut h = Sha256::new();
    for t in tables {
        let name: String = t.try_get_by_index(0).expect("name");
        // Every column as text, in a fixed order: one line per row.
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT * FROM \"{name}\""),
            ))
            .await
            .expect("rows");
        let mut lines: Vec<String> = rows
            .iter()
            .map(|r| {
                let mut cols = Vec::new();
                for i in 0.. {
                    match r.try_get_by_index::<Option<String>>(i) {
                        Ok(v) => cols.push(v.unwrap_or_else(|| "∅".into())),
                        Err(_) => match r.try_get_by_index::<Option<i64>>(i) {
                            Ok(v) => cols.push(v.map_or_else(|| "∅".into(), |n| n.to_string())),
                            Err(_) => match r.try_get_by_index::<Option<Vec<u8>>>(i) {
                                Ok(v) => cols.push(format!("{v:?}")),
                                Err(_) => break,
                            },
                        },
                    }
                }
                cols.join("\u{1f}")
            })
            .collect();
        lines.sort();
        h.update(name.as_bytes());
        for l in lines {
            h.update(l.as_bytes());
            h.update(b"\n");
        }
    }
    db.close().await.ok();
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn catalogue(s: &Server, case: &str, task: &str, token: u64) -> Vec<Bad> {
    let w = Some(s.tokens.window.as_str());
    let m = s.dept("market");
    let m = Some(m.as_str());
    let u = s.dept("urban");
    let u = Some(u.as_str());
    let a = Some(s.tokens.admin.as_str());
    let sup = Some(s.tokens.supervisor.as_str());
    let cases = "/v1/cases";
    let complete = format!("/v1/tasks/{task}/complete");
    let nested = format!(
        "{{\"bundle\": \"open-restaurant\", \"form\": {{\"a\": {}1{}}}}}",
        "[".repeat(300),
        "]".repeat(300)
    );
    let big = format!("{{\"bundle\": \"{}\"}}", "x".repeat(2 << 20));
    let ok_out = output_for("food_permit");
    let mut rows = vec![
        bad("B01", "POST", cases, w, "{not json", 400, "malformed_json"),
        bad("B02", "POST", cases, w, "", 400, "malformed_json"),
        bad("B03", "POST", cases, w, "[]", 400, "invalid_body"),
        bad(
            "B04",
            "POST",
            cases,
            w,
            j(json!({"form": {}})),
            400,
            "invalid_body",
        ),
        bad(
            "B05",
            "POST",
            cases,
            w,
            j(json!({"bundle": 5})),
            400,
            "invalid_body",
        ),
        bad(
            "B06",
            "POST",
            cases,
            w,
            j(json!({"bundle": "open-restaurant", "colour": "red"})),
            400,
            "invalid_body",
        ),
        bad(
            "B07",
            "POST",
            cases,
            w,
            nested.clone(),
            400,
            "malformed_json",
        ),
        bad("B08", "POST", cases, w, big, 413, "too_large"),
        bad(
            "B09",
            "POST",
            cases,
            w,
            vec![0xff, 0xfe, b'{', b'}'],
            400,
            "malformed_json",
        ),
        bad(
            "B10",
            "POST",
            cases,
            w,
            j(json!({"bundle": "no-such-bundle"})),
            404,
            "unknown_bundle",
        ),
        bad(
            "B11",
            "POST",
            cases,
            w,
            j(json!({"bundle": "open-restaurant", "version": 99})),
            404,
            "unknown_bundle",
        ),
        bad(
            "B12",
            "POST",
            cases,
            w,
            j(json!({"bundle": "open-restaurant", "form": {}})),
            422,
            "invalid_submission",
        ),
        bad(
            "B13",
            "POST",
            cases,
            w,
            j(json!({"bundle": "open-restaurant", "region": "32-01"})),
            400,
            "invalid_region",
        ),
        bad(
            "B14",
            "POST",
            cases,
            w,
            j(json!({"bundle": "open-restaurant", "channel": "Window!"})),
            400,
            "invalid_body",
        ),
        bad(
            "B15",
            "POST",
            cases,
            None,
            j(json!({"bundle": "open-restaurant"})),
            401,
            "missing_token",
        ),
        bad(
            "B16",
            "POST",
            cases,
            Some("wrong"),
            j(json!({"bundle": "open-restaurant"})),
            401,
            "invalid_token",
        ),
        bad(
            "B17",
            "POST",
            cases,
            m,
            j(json!({"bundle": "open-restaurant"})),
            403,
            "forbidden",
        ),
        bad(
            "B18",
            "GET",
            format!("{cases}/000000-20260101-99999999"),
            w,
            "",
            404,
            "unknown_case",
        ),
        bad(
            "B19",
            "GET",
            format!("{cases}?warning=purple"),
            sup,
            "",
            400,
            "invalid_query",
        ),
        bad(
            "B20",
            "GET",
            format!("{cases}?per_page=ten"),
            sup,
            "",
            400,
            "invalid_query",
        ),
        bad(
            "B21",
            "GET",
            format!("{cases}?colour=red"),
            sup,
            "",
            400,
            "invalid_query",
        ),
        bad(
            "B22",
            "GET",
            format!("{cases}/{case}/events?page=0x1"),
            sup,
            "",
            400,
            "invalid_query",
        ),
        bad(
            "B23",
            "POST",
            format!("{cases}/{case}/supplements"),
            w,
            j(json!({})),
            409,
            "nothing_to_supply",
        ),
        bad(
            "B24",
            "POST",
            format!("{cases}/{case}/supplements"),
            w,
            j(json!({"materials": {"no_such": {"name": "x"}}})),
            409,
            "nothing_to_supply",
        ),
        bad(
            "B25",
            "POST",
            format!("{cases}/{case}/withdraw"),
            w,
            j(json!({"reason": ""})),
            422,
            "reason_required",
        ),
        bad(
            "B26",
            "POST",
            format!("{cases}/{case}/withdraw"),
            w,
            j(json!({"reason": "x", "tasks": ["no_such"]})),
            404,
            "unknown_task",
        ),
        bad(
            "B27",
            "POST",
            format!("{cases}/{case}/evaluation"),
            w,
            j(json!({"grade": 5})),
            409,
            "not_closed",
        ),
        bad(
            "B28",
            "POST",
            format!("{cases}/{case}/evaluation"),
            w,
            j(json!({"comment": "no grade"})),
            400,
            "invalid_body",
        ),
        bad(
            "B29",
            "POST",
            format!("{cases}/{case}/confirm"),
            w,
            j(json!({})),
            409,
            "not_proposed",
        ),
        bad("B30", "POST", &complete, m, "{", 400, "malformed_json"),
        bad(
            "B31",
            "POST",
            &complete,
            m,
            j(json!({"lease_token": token, "decision": "maybe"})),
            400,
            "invalid_body",
        ),
        bad(
            "B32",
            "POST",
            &complete,
            m,
            j(json!({"lease_token": token, "decision": "approved", "reason": "x"})),
            400,
            "invalid_body",
        ),
        bad(
            "B33",
            "POST",
            &complete,
            m,
            j(json!({"lease_token": token, "decision": "approved", "output": {"permit_no": 5}})),
            422,
            "invalid_output",
        ),
        bad(
            "B34",
            "POST",
            &complete,
            m,
            j(json!({"lease_token": token, "decision": "approved", "output": {}})),
            422,
            "invalid_output",
        ),
        bad(
            "B35",
            "POST",
            &complete,
            m,
            j(json!({"lease_token": token + 9, "decision": "approved", "output": ok_out})),
            409,
            "stale_lease",
        ),
        bad(
            "B36",
            "POST",
            &complete,
            m,
            j(json!({"lease_token": token, "decision": "rejected", "reason": ""})),
            422,
            "reason_required",
        ),
        bad(
            "B37",
            "POST",
            &complete,
            u,
            j(json!({"lease_token": token, "decision": "approved"})),
            403,
            "wrong_department",
        ),
        bad(
            "B38",
            "POST",
            "/v1/tasks/no-colon/complete",
            m,
            j(json!({"decision": "approved"})),
            400,
            "invalid_task_id",
        ),
        bad(
            "B39",
            "POST",
            format!("/v1/tasks/{}/complete", enc(&format!("{case}:no_such"))),
            m,
            j(json!({"decision": "approved"})),
            404,
            "unknown_task",
        ),
        bad(
            "B40",
            "POST",
            format!("/v1/tasks/{task}/heartbeat"),
            m,
            j(json!({"lease_token": token, "lease": "soon"})),
            400,
            "invalid_body",
        ),
        bad(
            "B41",
            "POST",
            format!("/v1/tasks/{task}/heartbeat"),
            m,
            j(json!({"lease_token": token, "lease": "0s"})),
            400,
            "invalid_body",
        ),
        bad(
            "B42",
            "POST",
            format!("/v1/tasks/{task}/suspend"),
            m,
            j(json!({"lease_token": token, "reason": "午休", "note": "x"})),
            400,
            "invalid_body",
        ),
        bad(
            "B43",
            "POST",
            format!("/v1/tasks/{task}/suspend"),
            m,
            j(json!({"lease_token": token, "reason": "公示", "note": "x", "expected": "tomorrow"})),
            400,
            "invalid_body",
        ),
        bad(
            "B44",
            "POST",
            format!("/v1/tasks/{task}/fail"),
            m,
            j(json!({"lease_token": token, "error": "x", "retry_in": "-1s"})),
            400,
            "invalid_body",
        ),
        bad(
            "B45",
            "POST",
            "/v1/departments/market/tasks/fetch",
            m,
            j(json!({"max": 0})),
            400,
            "invalid_body",
        ),
        bad(
            "B46",
            "POST",
            "/v1/departments/market/tasks/fetch",
            m,
            j(json!({"max": 101})),
            400,
            "invalid_body",
        ),
        bad(
            "B47",
            "POST",
            "/v1/departments/market/tasks/fetch",
            m,
            j(json!({"wait": "forever"})),
            400,
            "invalid_body",
        ),
        bad(
            "B48",
            "POST",
            "/v1/departments/market/tasks/fetch",
            u,
            j(json!({})),
            403,
            "wrong_department",
        ),
        bad(
            "B49",
            "POST",
            "/v1/departments/market/tasks/complete",
            m,
            j(json!({"completions": []})),
            400,
            "invalid_body",
        ),
        bad(
            "B50",
            "POST",
            "/v1/triggers",
            Some(s.tokens.trigger.as_str()),
            j(json!({"bundle": "open-restaurant"})),
            400,
            "invalid_body",
        ),
        bad(
            "B51",
            "POST",
            "/v1/incidents/nonsense/retry",
            a,
            j(json!({})),
            400,
            "invalid_task_id",
        ),
        bad("B52", "GET", "/v1/no-such-endpoint", w, "", 404, "no_route"),
        bad("B53", "DELETE", cases, w, "", 405, "method_not_allowed"),
        bad(
            "B54",
            "POST",
            "/v1/progress",
            None,
            j(json!({"case_no": case, "code": "x".repeat(100)})),
            400,
            "invalid_body",
        ),
        bad(
            "B55",
            "GET",
            "/guide/no-such-bundle",
            None,
            "",
            404,
            "unknown_bundle",
        ),
        bad(
            "B56",
            "GET",
            "/guide/open-restaurant?format=pdf",
            None,
            "",
            400,
            "invalid_query",
        ),
    ];
    let mut yaml = bad(
        "B57",
        "POST",
        "/v1/bundles",
        a,
        "yijian: 1\nid: x\nversion: 1\ntitle: x\ntasks: {a: {title: A}}\n",
        422,
        "invalid_bundle",
    );
    yaml.content_type = "application/yaml";
    rows.push(yaml);
    let mut deep = bad(
        "B58",
        "POST",
        "/v1/bundles",
        a,
        format!("a: {}\n", "[".repeat(5_000)),
        422,
        "invalid_bundle",
    );
    deep.content_type = "application/yaml";
    rows.push(deep);
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_of_the_catalogue_changes_nothing_stored() {
    let server = Server::start().await;
    let (s, v) = server
        .post(
            "/v1/cases",
            &server.tokens.window,
            restaurant("catalogue-1"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let case = v["case_no"].as_str().expect("case").to_owned();
    let t = server
        .fetch("market", 10, "2s")
        .await
        .into_iter()
        .find(|t| t["case_no"] == case.as_str())
        .expect("food_permit");
    let task = enc(t["task_id"].as_str().expect("id"));
    let token = t["lease_token"].as_u64().expect("token");
    let rows = catalogue(&server, &case, &task, token);
    assert!(rows.len() >= 50, "at least 50 bad inputs");
    let mut wrong = Vec::new();
    for b in &rows {
        let before = digest(&server).await;
        let method = reqwest::Method::from_bytes(b.method.as_bytes()).expect("method");
        let mut req = server
            .client
            .request(method, format!("{}{}", server.base, b.path))
            .header("content-type", b.content_type)
            .body(b.body.clone());
        if let Some(t) = &b.token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("sent");
        let status = res.status().as_u16();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        let code = v["error"]["code"].as_str().unwrap_or("<none>");
        println!(
            "row|{}|{status}|{code}|{}",
            b.id,
            v["error"]["message"].as_str().unwrap_or_default()
        );
        if (status, code) != (b.status, b.code) || !v["error"]["message"].is_string() {
            wrong.push(format!(
                "{}: {status} {code}, want {} {}: {v}",
                b.id, b.status, b.code
            ));
        }
        if digest(&server).await != before {
            wrong.push(format!("{}: the store changed", b.id));
        }
    }
    // The document lists exactly these rows, with these answers.
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bad-input.md"),
    )
    .expect("docs/bad-input.md");
    let documented: BTreeMap<String, String> = doc
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() > 4 && cells[1].starts_with('B') && cells[1].len() == 3).then(|| {
                (
                    cells[1].to_owned(),
                    format!("{} {}", cells[3], cells[4].trim_matches('`')),
                )
            })
        })
        .collect();
    let tested: BTreeMap<String, String> = rows
        .iter()
        .map(|b| (b.id.to_owned(), format!("{} {}", b.status, b.code)))
        .collect();
    if documented != tested {
        wrong.push(format!(
            "docs/bad-input.md differs:\n documented {documented:?}\n tested     {tested:?}"
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    server.stop().await;
}
