//! `Idempotency-Key` on the admin API's POSTs (issue 14 part 3), as the admin
//! API's middleware uses it: the record of (caller, key) is claimed in the
//! store, so a repeat on any node finds it; the rules are `domain::idempotency`.

use std::time::Duration;

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::error::AppError;
use crate::domain::idempotency::{self, IdemRecord, Next, StoredAnswer};
use crate::store::Store;

/// How long a repeat waits for the first request before it gets 409.
pub const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

/// What the middleware does with a request that carries a key.
#[derive(Debug)]
pub enum Decision {
    /// Run it, then [`finish`] with this record key.
    Run { record: String },
    /// Answer with the first request's answer.
    Replay(StoredAnswer),
    /// The key was used for another request (422).
    Mismatch,
    /// The first request still runs after [`WAIT`] (409).
    StillRunning,
}

/// SHA-256 of what makes two requests the same one.
pub fn fingerprint(method: &str, path: &str, query: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), query.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(body);
    hex::encode(h.finalize())
}

/// The record key of `key` presented by `caller` (keys are per caller: one
/// integration cannot replay another's answers).
pub fn record_key(caller: &str, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(caller.as_bytes());
    h.update([0u8]);
    h.update(key.as_bytes());
    hex::encode(h.finalize())
}

/// Claims the key for this request, or says what to answer instead; a repeat
/// while the first runs waits up to [`WAIT`] for its answer.
pub async fn begin(
    store: &dyn Store,
    caller: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Decision, AppError> {
    idempotency::check_key(key).map_err(|m| AppError::field("Idempotency-Key", m))?;
    let record = record_key(caller, key);
    let deadline = tokio::time::Instant::now() + WAIT;
    // Bounded by the deadline.
    loop {
        let now = Utc::now();
        let claim = IdemRecord::claim(fingerprint, now);
        let found = store.claim_idempotency(&record, &claim, now).await?;
        match idempotency::next(found.as_ref(), fingerprint, now) {
            Next::Run if found.is_none() => return Ok(Decision::Run { record }),
            Next::Replay(a) => return Ok(Decision::Replay(a)),
            Next::Mismatch => return Ok(Decision::Mismatch),
            Next::Run | Next::Wait => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Decision::StillRunning);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Keeps the answer for replay (or frees the key when it is not kept).
pub async fn finish(
    store: &dyn Store,
    record: &str,
    fingerprint: &str,
    answer: StoredAnswer,
) -> Result<(), AppError> {
    if idempotency::keeps(answer.status) {
        let done = IdemRecord::done(fingerprint, answer, Utc::now());
        store.finish_idempotency(record, &done).await?;
    } else {
        store.release_idempotency(record).await?;
    }
    Ok(())
}

/// Removes lapsed records every hour (embedded store; CQL rows expire by TTL).
pub fn spawn_sweeper(store: std::sync::Arc<dyn Store>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match store.sweep_idempotency(Utc::now()).await {
                Ok(n) if n > 0 => tracing::info!(records = n, "lapsed idempotency records removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not sweep idempotency records"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::embedded::EmbeddedStore;

    fn answer(status: u16) -> StoredAnswer {
        StoredAnswer {
            status,
            content_type: "application/json".into(),
            body: b"{\"n\":1}".to_vec(),
        }
    }

    /// On the real embedded store: a repeat waits for the running first
    /// request and gets its answer; another body is a mismatch; an answer that
    /// is not kept (5xx) frees the key for the retry.
    #[tokio::test]
    async fn a_repeat_waits_for_the_first_answer() {
        let tmp = tempfile::tempdir().unwrap();
        let store: std::sync::Arc<dyn Store> =
            std::sync::Arc::new(EmbeddedStore::open(tmp.path(), 1).unwrap());
        let Decision::Run { record } = begin(store.as_ref(), "owner", "k", "fp").await.unwrap()
        else {
            panic!("the first request runs");
        };
        let waiting = {
            let store = store.clone();
            tokio::spawn(async move { begin(store.as_ref(), "owner", "k", "fp").await.unwrap() })
        };
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(
            !waiting.is_finished(),
            "the repeat waits while the first runs"
        );
        finish(store.as_ref(), &record, "fp", answer(201))
            .await
            .unwrap();
        match waiting.await.unwrap() {
            Decision::Replay(a) => assert_eq!(a, answer(201)),
            other => panic!("{other:?}"),
        }
        let other = begin(store.as_ref(), "owner", "k", "fp2").await.unwrap();
        assert!(matches!(other, Decision::Mismatch), "{other:?}");
        // Another caller's "k" is its own.
        let theirs = begin(store.as_ref(), "key:1", "k", "fp2").await.unwrap();
        let Decision::Run { record } = theirs else {
            panic!("{theirs:?}")
        };
        finish(store.as_ref(), &record, "fp2", answer(503))
            .await
            .unwrap();
        let retry = begin(store.as_ref(), "key:1", "k", "fp2").await.unwrap();
        assert!(
            matches!(retry, Decision::Run { .. }),
            "a 503 is not kept: {retry:?}"
        );
        assert!(begin(store.as_ref(), "owner", "", "fp").await.is_err());
        assert_eq!(store.sweep_idempotency(Utc::now()).await.unwrap(), 0);
        let later = Utc::now() + chrono::Duration::days(2);
        assert_eq!(store.sweep_idempotency(later).await.unwrap(), 2);
    }

    #[test]
    fn fingerprints_and_record_keys_separate_their_parts() {
        let a = fingerprint("POST", "/a", "", b"{}");
        assert_eq!(a, fingerprint("POST", "/a", "", b"{}"));
        assert_ne!(a, fingerprint("POST", "/a", "", b"{ }"));
        assert_ne!(
            fingerprint("POST", "/ab", "", b""),
            fingerprint("POST", "/a", "b", b"")
        );
        assert_ne!(record_key("owner", "k1"), record_key("key:1", "k1"));
        assert_ne!(record_key("a", "bc"), record_key("ab", "c"));
    }
}
