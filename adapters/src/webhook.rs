//! The `http` adapter: tasks are POSTed to a department's back office, signed with
//! HMAC-SHA256 and retried with backoff; the back office answers in the response or later
//! through the completion endpoint. The wire format is in `docs/webhook.md`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use yijian_adapters::webhook::{Backoff, Retry, Secret, Webhook, WebhookConfig};
//! use yijian_engine::{Engine, MemoryStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::builder(MemoryStore::new()).build().await?;
//! let secret = Secret::from_env("FIRE_HMAC_SECRET")?;
//! let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(600));
//! let config = WebhookConfig::new("https://fire.example.invalid/tasks", secret)
//!     .timeout(Duration::from_secs(10))
//!     .retry(Retry::new(8, backoff));
//! engine.register_adapter("fire", Arc::new(Webhook::new(config)?));
//! # Ok(()) }
//! ```

mod backoff;
mod delivery;
mod response;
mod signature;
mod stats;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;
use tracing::warn;
use yijian_engine::adapter::WorkCancelled;
use yijian_engine::{Adapter, CaseNo, Decision, Dispatch, Replier, TaskRef, Work};

pub use backoff::{Backoff, Retry};
pub use signature::{
    DEFAULT_TOLERANCE, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, Secret, SignatureError,
    TIMESTAMP_HEADER, sign, verify_signature,
};
pub use stats::{LATENCY_BUCKETS, WebhookStats};

use delivery::{Delivery, Transport, delivery_id, error_chain};

/// `X-Yijian-Event` of a task delivery.
pub const EVENT_DISPATCHED: &str = "task.dispatched";
/// `X-Yijian-Event` of a cancellation notice.
pub const EVENT_CANCELLED: &str = "task.cancelled";

/// Why a webhook adapter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL does not parse or is not `http`/`https`.
    #[error("`{url}` is not a usable webhook URL: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The environment variable named by `secret_env` is unset, not Unicode, or empty.
    #[error("the webhook secret variable `{var}` is unset or empty")]
    MissingSecret {
        /// The variable's name.
        var: String,
    },
    /// The secret has no bytes.
    #[error("the webhook secret is empty")]
    EmptySecret,
    /// The timeout is zero.
    #[error("the webhook timeout must be more than zero")]
    ZeroTimeout,
    /// `retry.attempts` is zero.
    #[error("retry attempts must be at least 1")]
    NoAttempts,
    /// The backoff's minimum is zero or above its maximum.
    #[error("backoff {min:?}..{max:?} must have 0 < min <= max")]
    InvalidBackoff {
        /// The minimum given.
        min: Duration,
        /// The maximum given.
        max: Duration,
    },
    /// The HTTP client could not be built (TLS set-up).
    #[error("the HTTP client could not be built: {reason}")]
    Client {
        /// The client's message.
        reason: String,
    },
}

/// A department's webhook binding (adapters.yaml `adapter: http`).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    url: String,
    secret: Secret,
    timeout: Duration,
    retry: Retry,
}

impl WebhookConfig {
    /// POST to `url`, signing with `secret`; timeout 10s, 8 attempts, backoff `1s..10m`.
    pub fn new(url: impl Into<String>, secret: Secret) -> WebhookConfig {
        WebhookConfig {
            url: url.into(),
            secret,
            timeout: Duration::from_secs(10),
            retry: Retry::default(),
        }
    }

    /// The limit for one attempt, from connecting to the last byte of the response.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> WebhookConfig {
        self.timeout = timeout;
        self
    }

    /// The retry policy for one delivery.
    #[must_use]
    pub fn retry(mut self, retry: Retry) -> WebhookConfig {
        self.retry = retry;
        self
    }
}

/// The webhook adapter. Cheap to clone; clones share deliveries in flight.
///
/// # Contract
/// - `dispatch` spawns the delivery on the current tokio runtime and returns
///   [`Dispatch::Pending`]; outside a runtime it fails the task at once.
/// - Every attempt of one dispatch carries the same `X-Yijian-Delivery`; a new dispatch of
///   the same unit (a higher `attempt`) supersedes a delivery still retrying.
/// - An answer in the response body is sent through the [`Replier`]; if the engine refuses
///   it (e.g. an output that does not match the declaration), the task is failed with the
///   reason instead, so it does not wait silently until its deadline.
/// - `cancel` stops the unit's delivery and POSTs a signed `task.cancelled` notice, best
///   effort.
#[derive(Clone)]
pub struct Webhook {
    shared: Arc<Shared>,
}

struct Shared {
    transport: Transport,
    // std Mutex: map updates only, never held across an await.
    flights: Mutex<HashMap<(CaseNo, TaskRef), Flight>>,
    next_flight: AtomicU64,
}

/// A delivery in flight; sending `true` stops it.
struct Flight {
    id: u64,
    stop: watch::Sender<bool>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.shared.transport.url.as_str())
            .field("timeout", &self.shared.transport.timeout)
            .field("retry", &self.shared.transport.retry)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// What this webhook's deliveries did so far (shared by its clones).
    pub fn stats(&self) -> WebhookStats {
        self.shared.transport.stats.snapshot()
    }

    /// The URL tasks are POSTed to.
    pub fn url(&self) -> &str {
        self.shared.transport.url.as_str()
    }

    /// An adapter for `config`.
    ///
    /// # Errors
    /// A bad URL, an empty secret, a zero timeout or attempts, a backoff with `min` zero or
    /// above `max`, or a TLS set-up failure.
    pub fn new(config: WebhookConfig) -> Result<Webhook, ConfigError> {
        let url = reqwest::Url::parse(&config.url).map_err(|e| ConfigError::InvalidUrl {
            url: config.url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::InvalidUrl {
                url: config.url,
                reason: "the scheme must be http or https".to_owned(),
            });
        }
        if config.secret.is_empty() {
            return Err(ConfigError::EmptySecret);
        }
        if config.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        if config.retry.attempts() == 0 {
            return Err(ConfigError::NoAttempts);
        }
        let b = config.retry.backoff();
        if b.min().is_zero() || b.min() > b.max() {
            return Err(ConfigError::InvalidBackoff {
                min: b.min(),
                max: b.max(),
            });
        }
        let client = reqwest::Client::builder()
            // A signed POST must not be replayed elsewhere, nor turned into a GET.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.timeout)
            .user_agent(concat!("yijian/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Client {
                reason: error_chain(&e),
            })?;
        Ok(Webhook {
            shared: Arc::new(Shared {
                transport: Transport {
                    client,
                    url,
                    secret: config.secret,
                    timeout: config.timeout,
                    retry: config.retry,
                    stats: stats::Counters::default(),
                },
                flights: Mutex::new(HashMap::new()),
                next_flight: AtomicU64::new(0),
            }),
        })
    }

    /// How many deliveries are still being attempted.
    pub fn in_flight(&self) -> usize {
        self.shared.flights().len()
    }
}

impl Adapter for Webhook {
    fn dispatch(&self, work: &Work, reply: &Replier) -> Dispatch {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Dispatch::Decided(Decision::Fail {
                error: "the webhook adapter runs outside a tokio runtime".to_owned(),
                retry_in: None,
            });
        };
        let body = match body_of(work) {
            Ok(body) => body,
            Err(e) => {
                return Dispatch::Decided(Decision::Fail {
                    error: format!("the task could not be encoded as JSON: {e}"),
                    retry_in: None,
                });
            }
        };
        let key = (work.case_no.clone(), work.task);
        let delivery = Delivery {
            id: delivery_id(&work.case_no, &work.name(), &work.attempt.to_string()),
            body,
        };
        let (stop, stopped) = watch::channel(false);
        let id = self.shared.next_flight.fetch_add(1, Ordering::Relaxed);
        // Inserted before the spawn, so the delivery always finds (and removes) its entry.
        if let Some(old) = self
            .shared
            .flights()
            .insert(key.clone(), Flight { id, stop })
        {
            // A new dispatch of the same unit supersedes the old delivery.
            let _ = old.stop.send(true);
        }
        let shared = self.shared.clone();
        let reply = reply.clone();
        runtime.spawn(async move {
            shared.transport.deliver(&delivery, &reply, stopped).await;
            shared.forget(&key, id);
        });
        Dispatch::Pending
    }

    fn cancel(&self, notice: &WorkCancelled) {
        if let Some(flight) = self
            .shared
            .flights()
            .remove(&(notice.case_no.clone(), notice.task))
        {
            let _ = flight.stop.send(true);
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            warn!(case.no = %notice.case_no, task = %notice.name, "no tokio runtime: cancellation notice not sent");
            return;
        };
        let body = json!({
            "event": EVENT_CANCELLED,
            "case_no": notice.case_no,
            "task": notice.name,
            "department": &*notice.department,
            "reason": notice.reason,
        });
        let delivery = Delivery {
            id: delivery_id(&notice.case_no, &notice.name, "cancelled"),
            body: body.to_string().into_bytes(),
        };
        let shared = self.shared.clone();
        runtime.spawn(async move { shared.transport.notify_cancelled(&delivery).await });
    }
}

impl Shared {
    fn flights(&self) -> std::sync::MutexGuard<'_, HashMap<(CaseNo, TaskRef), Flight>> {
        self.flights.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes a finished delivery's entry, unless a newer dispatch has replaced it.
    fn forget(&self, key: &(CaseNo, TaskRef), id: u64) {
        let mut flights = self.flights();
        if flights.get(key).is_some_and(|f| f.id == id) {
            flights.remove(key);
        }
    }
}

/// The work as JSON, after `"event": "task.dispatched"` and the API's `task_id`.
fn body_of(work: &Work) -> serde_json::Result<Vec<u8>> {
    let mut map = serde_json::Map::new();
    map.insert("event".to_owned(), Value::from(EVENT_DISPATCHED));
    // The id the completion endpoint takes (`/v1/tasks/{task_id}/complete`); the same
    // `<case_no>:<task>` format as the service's `TaskId`.
    map.insert("task_id".to_owned(), Value::from(work.task_id()));
    if let Value::Object(fields) = serde_json::to_value(work)? {
        map.extend(fields);
    }
    serde_json::to_vec(&map)
}

/// Classifies a back office's answer — status, `Retry-After`, body — exactly as a delivery
/// does, and describes the outcome in one line. For the fuzz targets (`fuzz/`); not part of
/// the adapter's API.
#[doc(hidden)]
pub fn classify_answer(status: u16, retry_after: Option<&str>, body: &[u8]) -> String {
    let Ok(status) = reqwest::StatusCode::from_u16(status) else {
        return "not an HTTP status".to_owned();
    };
    format!(
        "{:?}",
        response::classify(status, retry_after, body, std::time::SystemTime::now())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_checked() {
        let ok = || WebhookConfig::new("http://127.0.0.1:9/tasks", Secret::new("hunter2"));
        assert!(Webhook::new(ok()).is_ok());
        let bad = [
            (
                WebhookConfig::new("ftp://x/", Secret::new("k")),
                "InvalidUrl",
            ),
            (
                WebhookConfig::new("not a url", Secret::new("k")),
                "InvalidUrl",
            ),
            (
                WebhookConfig::new("http://x/", Secret::new("")),
                "EmptySecret",
            ),
            (ok().timeout(Duration::ZERO), "ZeroTimeout"),
            (ok().retry(Retry::new(0, Backoff::default())), "NoAttempts"),
            (
                ok().retry(Retry::new(
                    3,
                    Backoff::new(Duration::from_secs(2), Duration::from_secs(1)),
                )),
                "InvalidBackoff",
            ),
            (
                ok().retry(Retry::new(3, Backoff::new(Duration::ZERO, Duration::ZERO))),
                "InvalidBackoff",
            ),
        ];
        for (config, want) in bad {
            let err = Webhook::new(config).expect_err(want);
            assert!(format!("{err:?}").starts_with(want), "{err:?}");
        }
        let debug = format!("{:?}", Webhook::new(ok()).expect("valid"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn missing_secret_variable() {
        assert_eq!(
            Secret::from_env("YIJIAN_TEST_SURELY_UNSET_VARIABLE").map(|_| ()),
            Err(ConfigError::MissingSecret {
                var: "YIJIAN_TEST_SURELY_UNSET_VARIABLE".into()
            })
        );
    }
}
