//! What a back office's HTTP response means: an answer, an acknowledgement, a failure worth
//! retrying, or one that is not.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use yijian_engine::Decision;
use yijian_engine::case::Missing;

/// The meaning of one response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The back office decided at once, in the body.
    Answer(Decision),
    /// Received; any decision comes later through the completion endpoint.
    Accepted,
    /// Refused in a way another attempt will not change.
    Fatal(String),
    /// Worth another attempt, after `after` when the server said so (`Retry-After`).
    Retry {
        /// What went wrong.
        error: String,
        /// The server's `Retry-After`.
        after: Option<Duration>,
    },
}

/// The immediate answer, in the completion endpoint's shape (api.md).
#[derive(Debug, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
enum Answer {
    Approved {
        #[serde(default)]
        output: Value,
    },
    Rejected {
        reason: String,
    },
    Supplement {
        missing: Vec<Missing>,
    },
}

impl From<Answer> for Decision {
    fn from(a: Answer) -> Decision {
        match a {
            Answer::Approved { output } => Decision::Approve(output),
            Answer::Rejected { reason } => Decision::Refuse(reason),
            Answer::Supplement { missing } => Decision::Supplement(missing),
        }
    }
}

/// Classifies a complete response. `retry_after` is the raw `Retry-After` header; it is
/// honoured on 429 and 503 only, as RFC 9110 intends.
pub(crate) fn classify(
    status: StatusCode,
    retry_after: Option<&str>,
    body: &[u8],
    now: SystemTime,
) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        return if status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT {
            Outcome::Accepted
        } else {
            answer_in(status, body)
        };
    }
    let what = format!("{}: {}", describe(status), excerpt(body));
    match code {
        408 | 429 | 500..=599 => Outcome::Retry {
            error: what,
            after: if code == 429 || code == 503 {
                retry_after.and_then(|v| parse_retry_after(v, now))
            } else {
                None
            },
        },
        300..=399 => Outcome::Fatal(format!(
            "{}: redirects are not followed; configure the final URL",
            describe(status)
        )),
        400..=499 => Outcome::Fatal(what),
        _ => Outcome::Retry {
            error: what,
            after: None,
        },
    }
}

/// A 200/201 body: a decision when it is a JSON object with a `decision` key, otherwise
/// an acknowledgement (an empty body, `OK`, `{"received": true}`).
fn answer_in(status: StatusCode, body: &[u8]) -> Outcome {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Outcome::Accepted;
    };
    if !map.contains_key("decision") {
        return Outcome::Accepted;
    }
    match serde_json::from_value::<Answer>(Value::Object(map)) {
        Ok(a) => Outcome::Answer(a.into()),
        // A decision was meant but cannot be read: retrying would get the same body.
        Err(e) => Outcome::Fatal(format!(
            "{} with a decision that cannot be read ({e}): {}",
            describe(status),
            excerpt(body)
        )),
    }
}

/// `HTTP 503 Service Unavailable`.
pub(crate) fn describe(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// The start of a body for an error message: at most 200 characters, control characters
/// blanked, `…` when cut.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const CHARS: usize = 200;
    let head = &body[..body.len().min(CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut out: String = text
        .chars()
        .take(CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(CHARS).is_some() || head.len() < body.len() {
        out.push('…');
    }
    out
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3). A date in the past
/// means now.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let now = jiff::Timestamp::try_from(now).ok()?;
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777) // 1994-11-06T08:49:37Z
    }

    fn classify_str(code: u16, retry_after: Option<&str>, body: &str) -> Outcome {
        let status = StatusCode::from_u16(code).expect("a valid status");
        classify(status, retry_after, body.as_bytes(), now())
    }

    #[test]
    fn answers_in_the_body() {
        let table = [
            (
                r#"{"decision": "approved", "output": {"permit_no": "X-1"}}"#,
                Decision::Approve(json!({"permit_no": "X-1"})),
            ),
            (
                r#"{"decision": "approved"}"#,
                Decision::Approve(Value::Null),
            ),
            (
                r#"{"decision": "rejected", "reason": "不符合条件", "note": "extra keys are fine"}"#,
                Decision::Refuse("不符合条件".into()),
            ),
            (
                r#"{"decision": "supplement", "missing": [{"material": "lease", "reason": "模糊"}, {"field": "address", "reason": "不全"}]}"#,
                Decision::Supplement(vec![
                    Missing {
                        material: Some("lease".into()),
                        field: None,
                        reason: "模糊".into(),
                    },
                    Missing {
                        material: None,
                        field: Some("address".into()),
                        reason: "不全".into(),
                    },
                ]),
            ),
        ];
        for (body, want) in table {
            assert_eq!(classify_str(200, None, body), Outcome::Answer(want.clone()));
            assert_eq!(classify_str(201, None, body), Outcome::Answer(want));
            // 202 means "later", whatever the body says.
            assert_eq!(classify_str(202, None, body), Outcome::Accepted);
        }
    }

    #[test]
    fn acknowledgements_and_unreadable_decisions() {
        for body in ["", "  \n", "OK", r#"{"received": true}"#, "[1, 2]"] {
            assert_eq!(classify_str(200, None, body), Outcome::Accepted, "{body:?}");
        }
        assert_eq!(classify_str(204, None, ""), Outcome::Accepted);
        for body in [
            r#"{"decision": "approve"}"#,
            r#"{"decision": "rejected"}"#,
            r#"{"decision": "supplement", "missing": [{"reason": "x", "colour": 1}]}"#,
        ] {
            assert!(
                matches!(classify_str(200, None, body), Outcome::Fatal(e) if e.starts_with("HTTP 200 OK with a decision")),
                "{body}"
            );
        }
    }

    #[test]
    fn failures() {
        assert_eq!(
            classify_str(400, None, r#"{"error": "bad uscc"}"#),
            Outcome::Fatal(r#"HTTP 400 Bad Request: {"error": "bad uscc"}"#.into())
        );
        assert!(
            matches!(classify_str(404, None, ""), Outcome::Fatal(e) if e == "HTTP 404 Not Found: (empty body)")
        );
        assert!(
            matches!(classify_str(302, None, ""), Outcome::Fatal(e) if e.contains("redirects"))
        );
        for code in [408, 500, 502, 504] {
            // Retry-After counts on 429 and 503 only.
            assert!(
                matches!(
                    classify_str(code, Some("7"), ""),
                    Outcome::Retry { after: None, .. }
                ),
                "{code}"
            );
        }
        assert_eq!(
            classify_str(429, Some("7"), "slow down"),
            Outcome::Retry {
                error: "HTTP 429 Too Many Requests: slow down".into(),
                after: Some(Duration::from_secs(7))
            }
        );
        assert!(matches!(
            classify_str(503, Some("Sun, 06 Nov 1994 08:50:37 GMT"), ""),
            Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(60)
        ));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            parse_retry_after(" 120 ", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now()),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-5", now()), None);
    }

    #[test]
    fn excerpts_are_short_and_single_line() {
        assert_eq!(excerpt(b"line1\nline2"), "line1 line2");
        let long = "错".repeat(300);
        let e = excerpt(long.as_bytes());
        assert_eq!(e.chars().count(), 201);
        assert!(e.ends_with('…'));
    }
}
