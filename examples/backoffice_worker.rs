//! A department's back office: polls its queue over HTTP, accepts (受理) each task and
//! decides by simple rules.
//!
//! Run with: `cargo run --example backoffice_worker -- --department market --token "$(jq -r .departments.market yijian-dev-tokens.json)"`
//!
//! (with `yijian serve` running on 127.0.0.1:8080; `--url` points elsewhere, `--once` stops
//! when the queue is empty). The rules:
//! - a verification (告知承诺核查) or rectification (好差评整改) → approved;
//! - an input value that is empty (null or "") → a supplement request (补正) naming it;
//! - otherwise → approved, with an output made from the task's `output` declaration
//!   (read once per bundle version from `GET /v1/bundles/{id}/{version}`).
//!
//! A 409 (the lease went stale: another worker holds the task now) is logged and skipped;
//! a 503 waits for `Retry-After`.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

/// The worker's options.
#[derive(Debug, Parser)]
struct Args {
    /// The service.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The department id whose queue this worker serves.
    #[arg(long)]
    department: String,
    /// The department's token.
    #[arg(long)]
    token: String,
    /// The worker's name.
    #[arg(long, default_value = "backoffice-1")]
    worker: String,
    /// Take what is ready without waiting, and stop when a fetch comes back empty.
    #[arg(long)]
    once: bool,
}

struct Worker {
    http: reqwest::Client,
    args: Args,
    /// Declared outputs by (bundle, version, task id).
    outputs: HashMap<(String, u64), Map<String, Value>>,
}

impl Worker {
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<(StatusCode, Value)> {
        loop {
            let res = self
                .http
                .post(format!("{}{path}", self.args.url))
                .bearer_auth(&self.args.token)
                .json(&body)
                .send()
                .await
                .with_context(|| format!("POST {path}"))?;
            let status = res.status();
            if status == StatusCode::SERVICE_UNAVAILABLE {
                let wait = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            return Ok((status, res.json().await.unwrap_or(Value::Null)));
        }
    }

    /// The output declaration of a task: `{name: type}`.
    async fn declared(
        &mut self,
        bundle: &str,
        version: u64,
        task: &str,
    ) -> anyhow::Result<Map<String, Value>> {
        let key = (bundle.to_owned(), version);
        if !self.outputs.contains_key(&key) {
            let body: Value = self
                .http
                .get(format!("{}/v1/bundles/{bundle}/{version}", self.args.url))
                .bearer_auth(&self.args.token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let all = body["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    (
                        t["id"].as_str().unwrap_or_default().to_owned(),
                        t["output"].clone(),
                    )
                })
                .collect();
            self.outputs.insert(key.clone(), all);
        }
        let base = task.split(['[', '.']).next().unwrap_or(task);
        Ok(self.outputs[&key]
            .get(base)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }

    /// Decides one leased task: the completion body.
    async fn decide(&mut self, t: &Value) -> anyhow::Result<Value> {
        let lease = &t["lease_token"];
        if t["part"] != "main" {
            return Ok(json!({"lease_token": lease, "decision": "approved", "output": {}}));
        }
        let empty: Vec<&String> = t["input"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| v.is_null() || v.as_str() == Some(""))
            .map(|(k, _)| k)
            .collect();
        if !empty.is_empty() {
            let missing: Vec<Value> = empty
                .iter()
                .map(|f| json!({"field": f, "reason": format!("{f} 为空，请补正")}))
                .collect();
            return Ok(json!({"lease_token": lease, "decision": "supplement", "missing": missing}));
        }
        let task = t["task"].as_str().unwrap_or_default();
        let declared = self
            .declared(
                t["bundle"].as_str().unwrap_or_default(),
                t["version"].as_u64().unwrap_or(1),
                task,
            )
            .await?;
        let case_no = t["case_no"].as_str().unwrap_or_default();
        let output: Map<String, Value> = declared
            .iter()
            .map(|(name, ty)| {
                let v = match ty.as_str().unwrap_or("string") {
                    "number" | "integer" => json!(1),
                    "boolean" => json!(true),
                    "date" => json!(
                        jiff::Timestamp::now()
                            .to_string()
                            .get(..10)
                            .unwrap_or_default()
                    ),
                    "list" => json!([]),
                    "object" => json!({}),
                    "licence" => json!({
                        "name": format!("{task}.pdf"),
                        "uri": format!("https://licences.example.invalid/{case_no}/{task}.pdf"),
                        "sha256": "0".repeat(64),
                    }),
                    _ => json!(format!("{}-{}", name.to_uppercase(), case_no)),
                };
                (name.clone(), v)
            })
            .collect();
        Ok(json!({"lease_token": lease, "decision": "approved", "output": output}))
    }

    async fn run(mut self) -> anyhow::Result<()> {
        let fetch = format!("/v1/departments/{}/tasks/fetch", self.args.department);
        // A long poll while serving; `--once` drains what is ready and stops.
        let wait = if self.args.once { "0s" } else { "30s" };
        loop {
            let (status, body) = self
                .post(
                    &fetch,
                    json!({"max": 10, "lease": "5m", "wait": wait, "worker": self.args.worker}),
                )
                .await?;
            if !status.is_success() {
                bail!("fetch refused: {status} {body}");
            }
            let tasks = body["tasks"].as_array().cloned().unwrap_or_default();
            if tasks.is_empty() && self.args.once {
                return Ok(());
            }
            for t in tasks {
                let id = encode(t["task_id"].as_str().unwrap_or_default());
                let (s, v) = self
                    .post(
                        &format!("/v1/tasks/{id}/accept"),
                        json!({"lease_token": t["lease_token"], "receipt_no": format!("{}-{}", self.args.worker, t["lease_token"])}),
                    )
                    .await?;
                if s == StatusCode::CONFLICT {
                    eprintln!("{}: {}", t["task_id"], v["error"]["message"]);
                    continue;
                }
                let decision = self.decide(&t).await?;
                let (s, v) = self
                    .post(&format!("/v1/tasks/{id}/complete"), decision.clone())
                    .await?;
                match s {
                    StatusCode::OK => println!(
                        "{} {} → {}",
                        t["case_no"].as_str().unwrap_or_default(),
                        t["task"].as_str().unwrap_or_default(),
                        v["status"].as_str().unwrap_or_default()
                    ),
                    StatusCode::CONFLICT => {
                        eprintln!("{}: {}", t["task_id"], v["error"]["message"])
                    }
                    _ => {
                        eprintln!(
                            "{}: {s} {}; reporting a technical failure",
                            t["task_id"], v["error"]["message"]
                        );
                        self.post(
                            &format!("/v1/tasks/{id}/fail"),
                            json!({"lease_token": t["lease_token"], "error": format!("the back office's answer was refused: {}", v["error"]["code"])}),
                        )
                        .await?;
                    }
                }
            }
        }
    }
}

/// Percent-encodes a task id for a path (`[`, `]`, `:` and anything not plain).
fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    Worker {
        http: reqwest::Client::new(),
        args,
        outputs: HashMap::new(),
    }
    .run()
    .await
}
