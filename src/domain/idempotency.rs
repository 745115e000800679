//! `Idempotency-Key` on the admin API's POSTs (issue 14 part 3): the first
//! answer is kept for a day and replayed for a repeat with the same request;
//! the same key with another request is refused; a repeat while the first is
//! still running waits for it, then gets 409. What to do is decided here
//! without I/O; the store keeps the records (shared by every node).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long an answer is replayed.
pub const KEEP_SECS: i64 = 86_400;
/// How long a claim holds without an answer (a node that died mid-request
/// frees its keys after this).
pub const LEASE_SECS: i64 = 60;
/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// An answer as it is replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What the store keeps per (caller, key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdemRecord {
    /// SHA-256 of the method, path, query and body of the first request.
    pub fingerprint: String,
    /// `None` while the first request runs.
    pub answer: Option<StoredAnswer>,
    /// When the claim (no answer) or the answer (kept a day) lapses.
    pub until: DateTime<Utc>,
}

impl IdemRecord {
    /// A claim taken at `now` for a request with `fingerprint`.
    pub fn claim(fingerprint: &str, now: DateTime<Utc>) -> IdemRecord {
        IdemRecord {
            fingerprint: fingerprint.to_owned(),
            answer: None,
            until: now + Duration::seconds(LEASE_SECS),
        }
    }

    /// The finished record, kept [`KEEP_SECS`] from `now`.
    pub fn done(fingerprint: &str, answer: StoredAnswer, now: DateTime<Utc>) -> IdemRecord {
        IdemRecord {
            fingerprint: fingerprint.to_owned(),
            answer: Some(answer),
            until: now + Duration::seconds(KEEP_SECS),
        }
    }

    /// Whether the record no longer counts at `now`.
    pub fn lapsed(&self, now: DateTime<Utc>) -> bool {
        self.until <= now
    }
}

/// What a request carrying a key does, given what the store holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Nothing (or nothing alive) under the key: the request runs.
    Run,
    /// The first request is still running.
    Wait,
    /// The same request was answered: replay the answer.
    Replay(StoredAnswer),
    /// The key was used for another request.
    Mismatch,
}

/// Decides what a request with `fingerprint` does, given the record found.
pub fn next(found: Option<&IdemRecord>, fingerprint: &str, now: DateTime<Utc>) -> Next {
    match found {
        None => Next::Run,
        Some(r) if r.lapsed(now) => Next::Run,
        Some(r) if r.fingerprint != fingerprint => Next::Mismatch,
        Some(IdemRecord {
            answer: Some(a), ..
        }) => Next::Replay(a.clone()),
        Some(_) => Next::Wait,
    }
}

/// Whether an answer is kept for replay: not a refusal of the caller (401,
/// 403, 429: the caller may fix that and retry with the same key) and not a
/// server failure (5xx: the retry should run again).
pub fn keeps(status: u16) -> bool {
    !matches!(status, 401 | 403 | 429) && status < 500
}

/// Checks a presented key: 1 to [`MAX_KEY_LEN`] visible ASCII characters.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> StoredAnswer {
        StoredAnswer {
            status: 201,
            content_type: "application/json".into(),
            body: b"{}".to_vec(),
        }
    }

    #[test]
    fn what_a_repeat_does() {
        let now = Utc::now();
        let running = IdemRecord::claim("f1", now);
        let done = IdemRecord::done("f1", answer(), now);
        let later = now + Duration::seconds(LEASE_SECS + 1);
        let much_later = now + Duration::seconds(KEEP_SECS + 1);
        let table: [(Option<&IdemRecord>, &str, DateTime<Utc>, Next); 8] = [
            (None, "f1", now, Next::Run),
            (Some(&running), "f1", now, Next::Wait),
            (Some(&running), "f2", now, Next::Mismatch),
            (Some(&running), "f1", later, Next::Run),
            (Some(&done), "f1", now, Next::Replay(answer())),
            (Some(&done), "f2", now, Next::Mismatch),
            (Some(&done), "f1", later, Next::Replay(answer())),
            (Some(&done), "f2", much_later, Next::Run),
        ];
        for (i, (found, fp, at, want)) in table.into_iter().enumerate() {
            assert_eq!(next(found, fp, at), want, "row {i}");
        }
    }

    #[test]
    fn refusals_of_the_caller_and_failures_are_not_kept() {
        for (status, kept) in [
            (200, true),
            (201, true),
            (400, true),
            (404, true),
            (409, true),
            (422, true),
            (401, false),
            (403, false),
            (429, false),
            (500, false),
            (503, false),
        ] {
            assert_eq!(keeps(status), kept, "{status}");
        }
    }

    #[test]
    fn keys_are_checked() {
        assert!(check_key("order-1234").is_ok());
        assert!(check_key(&"a".repeat(255)).is_ok());
        for bad in ["", " x", "é", "a\nb", &"a".repeat(256)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }
}
