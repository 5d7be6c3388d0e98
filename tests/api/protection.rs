//! Protection over real sockets: 503 with `Retry-After` when the service is full (requests
//! in flight, long-poll waiters) or a request runs past its time limit, and 413 for a body
//! over the limit. A request is held in flight by sending its headers and only part of its
//! body, from a raw TCP client.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::server::{Server, restaurant};

/// A request whose body is still coming: the headers and the first half are sent.
pub(super) struct Held {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl Held {
    pub(super) async fn start(base: &str, path: &str, token: &str, body: &[u8]) -> Held {
        let addr = base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let half = body.len() / 2;
        stream.write_all(head.as_bytes()).await.expect("head");
        stream.write_all(&body[..half]).await.expect("first half");
        stream.flush().await.expect("flush");
        Held {
            stream,
            rest: body[half..].to_vec(),
        }
    }

    /// Sends the rest of the body and reads the answer: status, headers, body.
    pub(super) async fn finish(mut self) -> (u16, String) {
        self.stream.write_all(&self.rest).await.expect("rest");
        self.answer().await
    }

    /// Reads the answer without sending more.
    pub(super) async fn answer(mut self) -> (u16, String) {
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), self.stream.read_to_end(&mut out))
            .await
            .expect("an answer within 30 s")
            .expect("read");
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_service_answers_503_with_retry_after_and_recovers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_in(dir, |c| c.limits.max_in_flight = 1).await;
    let body = serde_json::to_vec(&restaurant("held-1")).expect("json");
    let held = Held::start(&server.base, "/v1/cases", &server.tokens.window, &body).await;
    // Give the server a moment to take the held request's permit.
    let mut refused = None;
    for _ in 0..100 {
        let res = server
            .client
            .get(format!("{}/v1/bundles", server.base))
            .bearer_auth(&server.tokens.supervisor)
            .send()
            .await
            .expect("sent");
        if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let res = refused.expect("a second request is refused while one is in flight");
    assert_eq!(
        res.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let v: serde_json::Value = res.json().await.expect("json");
    assert_eq!(v["error"]["code"], "overloaded", "{v}");
    // Health is not behind the limit: an orchestrator still sees the process up.
    let (s, _) = server
        .call(reqwest::Method::GET, "/healthz", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    // The held request finishes normally, and then the service takes requests again.
    let (status, text) = held.finish().await;
    assert_eq!(status, 201, "{text}");
    let (s, v) = server.get("/v1/bundles", &server.tokens.supervisor).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_time_limit_is_503_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_in(dir, |c| c.limits.request_timeout = "1s".to_owned()).await;
    let body = serde_json::to_vec(&restaurant("slow-1")).expect("json");
    // The body never completes: the time limit answers for it.
    let held = Held::start(&server.base, "/v1/cases", &server.tokens.window, &body).await;
    let (status, text) = held.answer().await;
    assert_eq!(status, 503, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    assert!(text.contains("\"timeout\""), "{text}");
    // Nothing was created.
    let (s, found) = server.get("/v1/cases", &server.tokens.supervisor).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(found["total"], 0, "{found}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_long_polls_are_refused_with_retry_after() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = std::sync::Arc::new(Server::start_in(dir, |c| c.limits.max_waiters = 1).await);
    let waiting = {
        let server = server.clone();
        tokio::spawn(async move { server.fetch("police", 1, "3s").await })
    };
    // Let the first long poll take the only waiter's place.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut refused = None;
    for _ in 0..100 {
        let res = server
            .client
            .post(format!("{}/v1/departments/police/tasks/fetch", server.base))
            .bearer_auth(server.dept("police"))
            .json(&json!({"max": 1, "wait": "0s"}))
            .send()
            .await
            .expect("sent");
        if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let res = refused.expect("a second waiter is refused");
    assert!(res.headers().contains_key("retry-after"));
    let v: serde_json::Value = res.json().await.expect("json");
    assert_eq!(v["error"]["code"], "too_many_waiters", "{v}");
    assert!(waiting.await.expect("joined").is_empty());
    match std::sync::Arc::try_unwrap(server) {
        Ok(s) => drop(s.stop().await),
        Err(_) => panic!("the only handle"),
    }
}
