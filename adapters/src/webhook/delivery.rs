//! Delivering one unit of work or notice: signed POSTs, retried with backoff, and the
//! answer handed to the engine.

use std::error::Error as _;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use tokio::sync::watch;
use tracing::{debug, warn};
use yijian_engine::{CaseNo, Decision, EngineError, Replier};

use super::backoff::{Jitter, Retry};
use super::response::{self, Outcome, classify};
use super::signature::{
    DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, Secret, TIMESTAMP_HEADER, sign,
};
use super::stats::{AttemptOutcome, Counters};
use super::{EVENT_CANCELLED, EVENT_DISPATCHED};

/// The largest response body read; a larger decision is refused.
const MAX_RESPONSE: usize = 1 << 20;
/// Attempts for a cancellation notice (best effort), at most the delivery's attempts.
const CANCEL_ATTEMPTS: u32 = 3;

/// One delivery: its idempotency key and body (the same bytes on every attempt).
pub(super) struct Delivery {
    pub(super) id: String,
    pub(super) body: Vec<u8>,
}

/// Sends deliveries to one URL.
#[derive(Debug)]
pub(super) struct Transport {
    pub(super) client: reqwest::Client,
    pub(super) url: reqwest::Url,
    pub(super) secret: Secret,
    pub(super) timeout: Duration,
    pub(super) retry: Retry,
    pub(super) stats: Counters,
}

impl Transport {
    /// Attempts the delivery and hands the engine its answer, unless stopped first.
    #[tracing::instrument(skip_all, fields(delivery = %delivery.id))]
    pub(super) async fn deliver(
        &self,
        delivery: &Delivery,
        reply: &Replier,
        mut stop: watch::Receiver<bool>,
    ) {
        let decision = tokio::select! {
            biased;
            () = stopped(&mut stop) => None,
            decision = self.attempts(delivery) => decision,
        };
        // The answer itself is not raced against a stop: an engine command is not cut short.
        if let Some(decision) = decision
            && !*stop.borrow()
        {
            answer(reply, decision, &delivery.id).await;
        }
    }

    /// Attempts a delivery until it is answered, acknowledged, refused, or out of attempts.
    /// `None`: nothing to tell the engine (the back office answers later).
    async fn attempts(&self, delivery: &Delivery) -> Option<Decision> {
        let attempts = self.retry.attempts().max(1);
        let mut jitter = Jitter::seeded();
        let mut last = String::new();
        for n in 1..=attempts {
            match self.send(delivery, EVENT_DISPATCHED).await {
                Outcome::Accepted => {
                    debug!(attempt = n, "acknowledged; the answer comes later");
                    return None;
                }
                Outcome::Answer(decision) => return Some(decision),
                Outcome::Fatal(error) => {
                    warn!(attempt = n, %error, "the back office refused the delivery");
                    self.stats.failed_delivery();
                    return Some(Decision::Fail {
                        error: format!("webhook delivery {} refused: {error}", delivery.id),
                        retry_in: None,
                    });
                }
                Outcome::Retry { error, after } => {
                    debug!(attempt = n, %error, "delivery failed; retrying");
                    last = error;
                    if n < attempts {
                        tokio::time::sleep(self.wait(n, after, &mut jitter)).await;
                    }
                }
            }
        }
        warn!(attempts, error = %last, "delivery failed; attempts spent");
        self.stats.failed_delivery();
        Some(Decision::Fail {
            error: format!(
                "webhook delivery {} failed after {attempts} attempt(s): {last}",
                delivery.id
            ),
            retry_in: None,
        })
    }

    /// The wait before retry `n`: the server's `Retry-After` (capped at the backoff's
    /// maximum, so a server cannot park a delivery for hours), or the backoff.
    fn wait(&self, n: u32, after: Option<Duration>, jitter: &mut Jitter) -> Duration {
        let backoff = self.retry.backoff();
        match after {
            Some(after) => after.min(backoff.max()),
            None => backoff.delay(n, jitter),
        }
    }

    /// Sends a cancellation notice, best effort: a few attempts, then a warning.
    pub(super) async fn notify_cancelled(&self, delivery: &Delivery) {
        let attempts = CANCEL_ATTEMPTS.min(self.retry.attempts()).max(1);
        let mut jitter = Jitter::seeded();
        for n in 1..=attempts {
            match self.send(delivery, EVENT_CANCELLED).await {
                Outcome::Accepted | Outcome::Answer(_) => return,
                Outcome::Fatal(error) => {
                    warn!(delivery = %delivery.id, %error, "the cancellation notice was refused");
                    return;
                }
                Outcome::Retry { error, after } => {
                    if n == attempts {
                        warn!(delivery = %delivery.id, %error, "the cancellation notice was not delivered");
                    } else {
                        tokio::time::sleep(self.wait(n, after, &mut jitter)).await;
                    }
                }
            }
        }
    }

    /// One signed POST, classified, counted and timed.
    async fn send(&self, delivery: &Delivery, event: &'static str) -> Outcome {
        let started = std::time::Instant::now();
        let outcome = self.post(delivery, event).await;
        let kind = match &outcome {
            Outcome::Answer(_) => AttemptOutcome::Answered,
            Outcome::Accepted => AttemptOutcome::Accepted,
            Outcome::Retry { .. } => AttemptOutcome::Retry,
            Outcome::Fatal(_) => AttemptOutcome::Refused,
        };
        self.stats.attempt(kind, started.elapsed());
        outcome
    }

    /// One signed POST, classified.
    async fn post(&self, delivery: &Delivery, event: &'static str) -> Outcome {
        // Signed afresh on each attempt, so a retry after a long backoff is not stale.
        let timestamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let signature = sign(self.secret.bytes(), timestamp, &delivery.body);
        let request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, timestamp)
            .header(SIGNATURE_HEADER, signature)
            .header(DELIVERY_HEADER, delivery.id.as_str())
            .header(EVENT_HEADER, event)
            .timeout(self.timeout)
            .body(delivery.body.clone());
        let mut response = match request.send().await {
            Ok(r) => r,
            // The request could not even be built: another attempt builds the same one.
            Err(e) if e.is_builder() => return Outcome::Fatal(error_chain(&e)),
            Err(e) => {
                return Outcome::Retry {
                    error: self.transport_error(&e),
                    after: None,
                };
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() > MAX_RESPONSE => {
                    if status.is_success() {
                        return Outcome::Fatal(format!(
                            "{}: the response is larger than {MAX_RESPONSE} bytes",
                            response::describe(status)
                        ));
                    }
                    // An error page: its start is enough for the message.
                    break;
                }
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    return Outcome::Retry {
                        error: format!(
                            "{}, then reading the body: {}",
                            response::describe(status),
                            self.transport_error(&e)
                        ),
                        after: None,
                    };
                }
            }
        }
        classify(status, retry_after.as_deref(), &body, SystemTime::now())
    }

    fn transport_error(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            format!("timed out after {:?}", self.timeout)
        } else {
            error_chain(e)
        }
    }
}

/// Resolves when the delivery is told to stop (or its flight entry is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Sends a decision; a refused answer from the back office becomes a failure with the
/// reason, so the task goes to retry or incident instead of waiting silently.
async fn answer(reply: &Replier, decision: Decision, delivery: &str) {
    let is_fail = matches!(decision, Decision::Fail { .. });
    match reply.answer(decision).await {
        Ok(_) => {}
        Err(EngineError::Rejected(why)) if !is_fail => {
            warn!(%delivery, error = %why, "the back office's answer was refused");
            let fail = Decision::Fail {
                error: format!("the answer to webhook delivery {delivery} was refused: {why}"),
                retry_in: None,
            };
            if let Err(e) = reply.answer(fail).await {
                warn!(%delivery, error = %e, "the failure could not be recorded either");
            }
        }
        Err(e) => warn!(%delivery, error = %e, "the engine did not take the answer"),
    }
}

/// `<case_no>/<task>/<last>`, each part percent-encoded outside visible ASCII (and `%`, `/`),
/// so a header can carry it and `/` splits it unambiguously.
pub(super) fn delivery_id(case_no: &CaseNo, task: &str, last: &str) -> String {
    let mut out = String::new();
    for (i, part) in [case_no.to_string().as_str(), task, last]
        .iter()
        .enumerate()
    {
        if i > 0 {
            out.push('/');
        }
        for b in part.bytes() {
            if b.is_ascii_graphic() && b != b'%' && b != b'/' {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// An error with its sources, `a: b: c`.
pub(super) fn error_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(out, ": {s}");
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_ids_are_header_safe() {
        let no = CaseNo::new("320102-20260918-00000042");
        assert_eq!(
            delivery_id(&no, "partner_check[1]", "2"),
            "320102-20260918-00000042/partner_check[1]/2"
        );
        assert_eq!(
            delivery_id(&CaseNo::new("苏 1/2%"), "t", "1"),
            "%E8%8B%8F%201%2F2%25/t/1"
        );
    }
}
