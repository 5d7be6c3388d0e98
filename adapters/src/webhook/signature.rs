//! Signing deliveries and checking signatures: HMAC-SHA256 over `"<timestamp>.<body>"`.
//!
//! The scheme is documented for other languages in `docs/webhook.md`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header carrying the signing time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Yijian-Timestamp";
/// The header carrying `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-Yijian-Signature";
/// The header carrying the idempotency key `<case_no>/<task>/<attempt>` (or
/// `<case_no>/<task>/cancelled` for a cancellation).
pub const DELIVERY_HEADER: &str = "X-Yijian-Delivery";
/// The header naming the event: `task.dispatched` or `task.cancelled`.
pub const EVENT_HEADER: &str = "X-Yijian-Event";
/// How far a timestamp may be from the receiver's clock by default (five minutes).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

const PREFIX: &str = "sha256=";

/// A shared signing secret. Its `Debug` form never shows the bytes.
#[derive(Clone)]
pub struct Secret(Arc<[u8]>);

impl Secret {
    /// A secret from its bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        Secret(bytes.into().into())
    }

    /// The secret held in the environment variable `var` (adapters.yaml's `secret_env`).
    ///
    /// # Errors
    /// The variable is unset, not valid Unicode, or empty.
    pub fn from_env(var: &str) -> Result<Secret, super::ConfigError> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => Err(super::ConfigError::MissingSecret {
                var: var.to_owned(),
            }),
        }
    }

    /// Whether the secret has no bytes (refused by the adapter).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The timestamp header is not a number of Unix seconds.
    #[error("the timestamp header is not a number of Unix seconds")]
    MalformedTimestamp,
    /// The signature header is not `sha256=` followed by 64 hex digits.
    #[error("the signature header is not `sha256=` followed by 64 hex digits")]
    MalformedSignature,
    /// The signature does not match the body and timestamp under this secret.
    #[error("the signature does not match")]
    Mismatch,
    /// The signature is valid but its timestamp is too far from now (a replay, or a clock
    /// out of step).
    #[error("the timestamp is {skew_secs}s away from now, more than the {tolerance_secs}s allowed")]
    Stale {
        /// Seconds between the timestamp and now, either way.
        skew_secs: u64,
        /// The tolerance in seconds.
        tolerance_secs: u64,
    },
}

/// The signature header value for `body` sent at `timestamp` (Unix seconds):
/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mac = mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    let mut out = String::with_capacity(PREFIX.len() + mac.len() * 2);
    out.push_str(PREFIX);
    for b in mac {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// Checks a delivery's signature, for back offices written in Rust.
///
/// `timestamp_header` and `signature_header` are the raw values of
/// [`TIMESTAMP_HEADER`] and [`SIGNATURE_HEADER`]; `body` is the request body exactly as
/// received (before any JSON parsing). The MAC is compared in constant time; then the
/// timestamp must lie within `tolerance` (whole seconds) of `now`, either way
/// ([`DEFAULT_TOLERANCE`] is a fair choice). So [`SignatureError::Stale`] means authentic
/// but old: a replay, or a clock out of step. A back office should also drop repeats of a
/// [`DELIVERY_HEADER`] it has already handled.
///
/// # Errors
/// A malformed header, a mismatch, or a stale timestamp.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use yijian_adapters::webhook::{sign, verify_signature};
///
/// let body = br#"{"case_no":"320102-20260918-00000042"}"#;
/// let signature = sign(b"s3cr3t", 1_700_000_000, body);
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_030);
/// let tolerance = Duration::from_secs(300);
/// let check = |secret: &[u8]| verify_signature(secret, "1700000000", &signature, body, now, tolerance);
/// assert!(check(b"s3cr3t").is_ok());
/// assert!(check(b"other").is_err());
/// ```
pub fn verify_signature(
    secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let ts_text = timestamp_header.trim();
    if ts_text.is_empty() || !ts_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedTimestamp);
    }
    let timestamp: u64 = ts_text
        .parse()
        .map_err(|_| SignatureError::MalformedTimestamp)?;
    let expected = signature_header
        .trim()
        .strip_prefix(PREFIX)
        .and_then(decode_hex)
        .ok_or(SignatureError::MalformedSignature)?;
    // `verify_slice` compares in constant time, so a forger learns nothing from timing.
    mac(secret, ts_text, body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)?;
    let now_secs = match now.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs(),
        Err(_) => 0,
    };
    let skew_secs = now_secs.abs_diff(timestamp);
    if skew_secs > tolerance.as_secs() {
        return Err(SignatureError::Stale {
            skew_secs,
            tolerance_secs: tolerance.as_secs(),
        });
    }
    Ok(())
}

/// The MAC over `"<timestamp>.<body>"`, the timestamp as the header's text.
fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (longer ones are hashed first), so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret)
        .expect("invariant: HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn matches_the_documented_example() {
        // The same value as `docs/webhook.md`, computed there with openssl.
        assert_eq!(
            sign(b"s3cr3t", T0, br#"{"case_no":"000000-20231115-00000001"}"#),
            "sha256=b695aee57187598bc91f4de00cb22fe2933ebd0d3dbd964ad65b83d8455950eb"
        );
    }

    #[test]
    fn verifies_and_refuses() {
        let body = b"{}";
        let sig = sign(b"k", T0, body);
        let tol = DEFAULT_TOLERANCE;
        assert_eq!(
            verify_signature(b"k", "1700000000", &sig, body, at(T0), tol),
            Ok(())
        );
        assert_eq!(
            verify_signature(
                b"k",
                " 1700000000 ",
                &sig.to_uppercase().replace("SHA256=", "sha256="),
                body,
                at(T0 + 300),
                tol
            ),
            Ok(())
        );
        let check = |secret: &[u8], ts: &str, sig: &str, body: &[u8], now: u64| {
            verify_signature(secret, ts, sig, body, at(now), tol)
        };
        use SignatureError::*;
        assert_eq!(check(b"x", "1700000000", &sig, body, T0), Err(Mismatch));
        assert_eq!(check(b"k", "1700000001", &sig, body, T0), Err(Mismatch));
        assert_eq!(check(b"k", "1700000000", &sig, b"{ }", T0), Err(Mismatch));
        assert_eq!(check(b"k", "-1", &sig, body, T0), Err(MalformedTimestamp));
        assert_eq!(check(b"k", "", &sig, body, T0), Err(MalformedTimestamp));
        assert_eq!(
            check(b"k", "1700000000", "sha1=00", body, T0),
            Err(MalformedSignature)
        );
        assert_eq!(
            check(b"k", "1700000000", "sha256=zz", body, T0),
            Err(MalformedSignature)
        );
        assert_eq!(
            check(b"k", "1700000000", &sig, body, T0 + 301),
            Err(Stale {
                skew_secs: 301,
                tolerance_secs: 300
            })
        );
        assert_eq!(
            check(b"k", "1700000000", &sig, body, T0 - 400),
            Err(Stale {
                skew_secs: 400,
                tolerance_secs: 300
            })
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(..)");
    }
}
