//! The tamper-evident audit trail (全程留痕): each event row carries
//! `hash = sha256(prev_hash ‖ seq ‖ body)`, chaining it to the previous event of its case.
//!
//! The bytes hashed are the previous hash as 64 lowercase hex characters, the event's `seq`
//! as 8 bytes big-endian, and the body's UTF-8 JSON text, exactly as stored. The first
//! event's `prev_hash` is 64 zeros. Fixed-width fields make the concatenation unambiguous.

use std::fmt;

use sha2::{Digest, Sha256};
use yijian_engine::CaseNo;

use crate::entity::event;

/// The `prev_hash` of a case's first event.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of the event `seq` with this body, following `prev`.
pub(crate) fn link_hash(prev: &str, seq: u64, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(seq.to_be_bytes());
    h.update(body.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// The first broken link of a case's audit chain, as found by
/// [`SqlStore::verify`](crate::SqlStore::verify).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBreak {
    /// The case.
    pub case_no: CaseNo,
    /// The event where the chain breaks (1 for the first event).
    pub seq: u64,
    /// What is wrong there.
    pub link: BrokenLink,
}

/// How a link of the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrokenLink {
    /// The event does not hash to its stored `hash`: its body, seq or hash was changed.
    Hash {
        /// The hash recomputed from the chain and the stored body.
        expected: String,
        /// The stored hash.
        found: String,
    },
    /// The event's `prev_hash` is not the previous event's hash: an event before it was
    /// replaced, removed or rehashed.
    Prev {
        /// The previous event's hash (64 zeros for the first event).
        expected: String,
        /// The stored `prev_hash`.
        found: String,
    },
    /// The event with this seq is missing: events are numbered 1, 2, 3, … without gaps.
    Missing {
        /// The seq stored next instead, if any.
        found: Option<u64>,
    },
    /// The case row's event count disagrees with the events stored.
    Count {
        /// The number of events stored.
        expected: u64,
        /// The case row's `event_count`.
        found: u64,
    },
}

impl fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokenLink::Hash { expected, found } => {
                write!(f, "hash mismatch: expected {expected}, found {found}")
            }
            BrokenLink::Prev { expected, found } => {
                write!(f, "prev_hash mismatch: expected {expected}, found {found}")
            }
            BrokenLink::Missing { found: Some(seq) } => {
                write!(f, "event missing: the next stored event is {seq}")
            }
            BrokenLink::Missing { found: None } => f.write_str("event missing"),
            BrokenLink::Count { expected, found } => write!(
                f,
                "the case row counts {found} events, {expected} are stored"
            ),
        }
    }
}

impl fmt::Display for AuditBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "case {} event {}: {}", self.case_no, self.seq, self.link)
    }
}

/// Walks one case's chain, event by event, oldest first.
#[derive(Debug)]
pub(crate) struct Chain {
    head: String,
    next_seq: u64,
}

impl Chain {
    pub(crate) fn new() -> Chain {
        Chain {
            head: GENESIS.to_owned(),
            next_seq: 1,
        }
    }

    /// The number of events checked so far.
    pub(crate) fn len(&self) -> u64 {
        self.next_seq - 1
    }

    /// Checks the next row; on success it becomes the head.
    pub(crate) fn check(&mut self, row: &event::Model) -> Result<(), (u64, BrokenLink)> {
        let at = self.next_seq;
        let seq = u64::try_from(row.seq).ok();
        if seq != Some(at) {
            return Err((at, BrokenLink::Missing { found: seq }));
        }
        if row.prev_hash != self.head {
            return Err((
                at,
                BrokenLink::Prev {
                    expected: self.head.clone(),
                    found: row.prev_hash.clone(),
                },
            ));
        }
        let expected = link_hash(&self.head, at, &row.body);
        if expected != row.hash {
            return Err((
                at,
                BrokenLink::Hash {
                    expected,
                    found: row.hash.clone(),
                },
            ));
        }
        self.head = expected;
        self.next_seq += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_of_prev_seq_body() {
        // Python: sha256(b"0" * 64 + (1).to_bytes(8, "big") + b"{}").hexdigest()
        let h = link_hash(GENESIS, 1, "{}");
        assert_eq!(
            h,
            "cad1cc1d6e29a46e00c2a45f04f4f8fbf914d4fc91bbc8597ce6320e98ad6d9d"
        );
        assert_ne!(h, link_hash(GENESIS, 2, "{}"));
        assert_ne!(h, link_hash(GENESIS, 1, "{ }"));
        assert_eq!(GENESIS.len(), 64);
    }
}
