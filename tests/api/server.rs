//! The test server: `yijian serve`'s app on a loopback socket, SQLite in a temp folder.

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use yijian::serve::{Config, DevTokens, prepare, serve};
use yijian_store_sql::{SqlOptions, SqlStore};

/// Configured tokens from `(name, role, region, secret)`: only the secrets' hashes are kept.
pub(super) fn token_configs<'a>(
    tokens: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>, String)>,
) -> Vec<yijian::serve::config::TokenConfig> {
    tokens
        .into_iter()
        .map(
            |(name, role, region, secret)| yijian::serve::config::TokenConfig {
                name: name.to_owned(),
                role: role.to_owned(),
                region: region.map(str::to_owned),
                sha256: yijian::serve::auth::token_hash(&secret),
            },
        )
        .collect()
}

/// The catalog folder of this checkout.
pub(super) fn catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("definitions/catalog")
}

/// A running server.
pub(super) struct Server {
    pub(super) base: String,
    pub(super) tokens: DevTokens,
    pub(super) client: reqwest::Client,
    pub(super) dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// A server with development tokens, the catalog deployed, a fresh SQLite file.
    pub(super) async fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        Server::start_in(dir, |_| {}).await
    }

    /// A server in `dir` (whose SQLite file may hold earlier cases), after `tweak` edits
    /// the configuration.
    pub(super) async fn start_in(
        dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut Config),
    ) -> Server {
        let mut config = Config {
            database: format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("yijian.db").display()
            ),
            bundles: vec![catalog()],
            ..Config::default()
        };
        tweak(&mut config);
        let store = SqlStore::connect(&config.database).await.expect("sqlite");
        Server::launch(dir, store, config).await
    }

    /// A server on the PostgreSQL of `DATABASE_URL`, in a schema of its own (left behind
    /// for inspection; CI's database is thrown away), or `None` when it is not set.
    pub(super) async fn postgres(test: &str) -> Option<Server> {
        let url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                println!("{test}: DATABASE_URL is not set; skipping the PostgreSQL run");
                return None;
            }
        };
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let schema = format!(
            "yj_api_{}_{nanos}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let store = SqlStore::connect_with(&url, SqlOptions::default().schema(&schema))
            .await
            .expect("connect to PostgreSQL");
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            database: url,
            bundles: vec![catalog()],
            ..Config::default()
        };
        Some(Server::launch(dir, store, config).await)
    }

    async fn launch(dir: tempfile::TempDir, store: SqlStore, config: Config) -> Server {
        let prepared = prepare(store, &config, dir.path()).await.expect("prepared");
        let tokens = match &prepared.dev_tokens {
            Some(path) => serde_json::from_str(&std::fs::read_to_string(path).expect("tokens"))
                .expect("token file"),
            None => DevTokens {
                admin: String::new(),
                window: String::new(),
                supervisor: String::new(),
                trigger: String::new(),
                departments: Default::default(),
            },
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(serve(listener, prepared.state, async move {
            let _ = stopped.await;
        }));
        Server {
            base,
            tokens,
            client: reqwest::Client::new(),
            dir,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// Stops the server gracefully and hands back its folder.
    pub(super) async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("joined").expect("served");
        }
        self.dir
    }

    /// A department's development token.
    pub(super) fn dept(&self, id: &str) -> String {
        self.tokens
            .departments
            .get(id)
            .cloned()
            .expect("department token")
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("sent");
        let status = res.status();
        let text = res.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub(super) async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub(super) async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Sends raw bytes.
    pub(super) async fn post_raw(
        &self,
        path: &str,
        token: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        // A client of its own, without a pool: a refused body (413) ends its connection, and
        // a pooled client could pick that connection for the next request.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        let res = client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        let status = res.status();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The case's stored events (to show that a refused call changed nothing).
    pub(super) async fn events(&self, case_no: &str) -> Value {
        let (s, v) = self
            .get(
                &format!("/v1/cases/{case_no}/events?per_page=1000"),
                &self.tokens.supervisor,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// A case as the supervisor sees it.
    pub(super) async fn case(&self, case_no: &str) -> Value {
        let (s, v) = self
            .get(&format!("/v1/cases/{case_no}"), &self.tokens.supervisor)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// Fetches up to `max` tasks of a department, waiting up to `wait`.
    pub(super) async fn fetch(&self, department: &str, max: usize, wait: &str) -> Vec<Value> {
        let (s, v) = self
            .post(
                &format!("/v1/departments/{department}/tasks/fetch"),
                &self.dept(department),
                json!({"max": max, "lease": "5m", "wait": wait, "worker": format!("{department}-test")}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["tasks"].as_array().cloned().unwrap_or_default()
    }
}

/// A path segment, percent-encoded (task ids hold `[`, `]` and `:`).
pub(crate) fn enc(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A task's status in a case body.
pub(super) fn status_of<'a>(case: &'a Value, task: &str) -> &'a str {
    case["tasks"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == task))
        .and_then(|t| t["status"].as_str())
        .unwrap_or("absent")
}

/// A 开办餐饮店 application: 350 m² (fire check by 告知承诺), an outdoor sign, tobacco,
/// one partner; every material uploaded.
pub(super) fn restaurant(key: &str) -> Value {
    json!({
        "bundle": "open-restaurant",
        "region": "320106",
        "form": {
            "uscc": "91320106MA1XY01234",
            "shop_name": "老王面馆",
            "address": "南京市鼓楼区中山路1号",
            "operator_name": "王五",
            "floor_area": 350,
            "food_categories": [{"category": "hot_food"}],
            "has_signboard": true,
            "signboard_size": "3m x 1m, 门楣",
            "sells_tobacco": true,
            "partners": [{"name": "李四", "id_no": "32010619900101123X"}]
        },
        "materials": {
            "lease": {"name": "租赁合同.pdf", "uri": "https://files.example.invalid/lease.pdf"},
            "floor_plan": {"name": "平面图.pdf"},
            "food_safety_rules": {"name": "食品安全管理制度.pdf"},
            "fire_commitment": {"name": "消防安全告知承诺书.pdf"},
            "fire_layout": {"name": "消防设施平面图.pdf"},
            "signboard_design": {"name": "招牌效果图.png"},
            "tobacco_layout": {"name": "周边示意图.png"}
        },
        "idempotency_key": key
    })
}

/// The output each catalog task declares, filled in.
pub(super) fn output_for(task: &str) -> Value {
    let licence = json!({
        "name": "licence.pdf",
        "uri": "https://files.example.invalid/licence.pdf",
        "sha256": "a".repeat(64)
    });
    match task {
        "food_permit" => json!({"permit_no": "JY13201060000001", "food_permit_pdf": licence}),
        "signboard" => json!({"signboard_no": "ZP-2026-0001"}),
        "tobacco" => json!({"tobacco_licence_no": "YC-320106-0001"}),
        _ => json!({}),
    }
}
