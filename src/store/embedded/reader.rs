//! Batched license reads: the reader threads of an environment's redb file.
//!
//! A registry miss is one point read of the licenses table. On tokio's
//! blocking pool each miss woke a thread of its own (at 64 connections up to
//! 64 runnable threads beside the worker, each with its own read transaction):
//! misses ran at 0.3× the hit rate, p99 4.4 ms against 1.9 ms at the median.
//! Here a caller queues its key and awaits the answer; a reader takes the
//! first waiting read and every read queued behind it (at most [`MAX_BATCH`]),
//! reads them in ONE read transaction with the table opened once, decodes each
//! and answers it: 0.5× the hit rate, p99 ~2 ms (BENCHMARKS.md, session 16).
//! Reading on the worker itself measured slower still (no shared transaction),
//! and would put file I/O there: a page not yet in memory is read here. The
//! threads are few and fixed ([`READERS`]), the queue bounded (callers wait
//! when it is full).
//!
//! Dropping the [`Reader`] closes the queue; the threads answer what is queued
//! and exit, and the drop waits for them (so the file can be opened again).

use std::sync::Arc;

use redb::Database;
use tokio::sync::oneshot;

use super::batched::{Batched, Shape};
use super::tables::{decoded, unavailable, LICENSES};
use crate::domain::License;
use crate::store::StoreError;

/// Reader threads per file: two reads from disk can be in flight at once.
const READERS: usize = 2;
/// Most reads answered from one read transaction.
const MAX_BATCH: usize = 256;
/// Reads waiting for a reader before callers wait to enqueue.
const QUEUE: usize = 1024;

type Answer = Result<Option<License>, StoreError>;

/// One queued read: the license key and where its answer goes.
struct Read {
    key: String,
    reply: oneshot::Sender<Answer>,
}

/// The reader threads of each environment's file (global records are not
/// read per request: they stay on the blocking pool).
pub(super) struct Readers {
    pub(super) production: Reader,
    pub(super) staging: Reader,
}

/// The reader threads of one redb file; see the module header.
pub(super) struct Reader {
    threads: Batched<Read>,
}

impl Reader {
    /// Starts the reader threads of `db`; `name` labels them (the file).
    pub(super) fn start(db: Arc<Database>, name: &str) -> Result<Self, StoreError> {
        let shape = Shape {
            name: &format!("kw-reader-{name}"),
            threads: READERS,
            queue: QUEUE,
            max_batch: MAX_BATCH,
        };
        let threads = Batched::start(shape, move |batch| answer_batch(&db, batch))?;
        Ok(Reader { threads })
    }

    /// The license stored under `key`, read in the next batch.
    pub(super) async fn license(&self, key: String) -> Answer {
        self.threads.ask(|reply| Read { key, reply }).await?
    }

    /// Closes the queue and waits for the threads to answer what was queued
    /// and exit (shutdown: the file can then be closed cleanly).
    pub(super) fn close(&self) {
        self.threads.close();
    }
}

/// Reads every key of `batch` in one read transaction and answers each (an
/// error opening the transaction or the table answers them all).
fn answer_batch(db: &Database, batch: Vec<Read>) {
    let opened = db
        .begin_read()
        .map_err(unavailable)
        .and_then(|txn| txn.open_table(LICENSES).map_err(unavailable));
    let table = match opened {
        Ok(table) => table,
        Err(e) => {
            for read in batch {
                let _ = read.reply.send(Err(e.clone()));
            }
            return;
        }
    };
    for read in batch {
        let answer = decoded(&table, &read.key);
        // The caller may have gone away (request cancelled): nothing to tell.
        let _ = read.reply.send(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::embedded::tables::put_one;

    fn file_with(keys: &[&str]) -> (tempfile::TempDir, Arc<Database>) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("r.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        for k in keys {
            let mut license = crate::store::embedded::history::tests::old_license();
            license.key = crate::domain::LicenseKey::parse(k).unwrap();
            put_one(&txn, LICENSES, k, &license, None).unwrap();
        }
        txn.commit().unwrap();
        (dir, Arc::new(db))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reads_each_get_their_own_license() {
        let keys: Vec<String> = (0..300).map(|i| format!("READ-{i:05}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let (_dir, db) = file_with(&refs);
        let reader = Arc::new(Reader::start(db, "test").unwrap());
        let asks = (0..600).map(|i| {
            let reader = reader.clone();
            // Every other read asks for a key that is not there.
            let key = if i % 2 == 0 {
                format!("READ-{:05}", i / 2)
            } else {
                format!("NONE-{i}")
            };
            tokio::spawn(async move { (key.clone(), reader.license(key).await) })
        });
        for ask in asks.collect::<Vec<_>>() {
            let (key, answer) = ask.await.unwrap();
            match answer.unwrap() {
                Some(l) => assert_eq!(l.key.as_str(), key),
                None => assert!(key.starts_with("NONE-"), "{key} not found"),
            }
        }
    }

    #[tokio::test]
    async fn dropping_the_reader_answers_what_was_queued_and_stops() {
        let (_dir, db) = file_with(&["READ-00001"]);
        let reader = Reader::start(db.clone(), "test").unwrap();
        let answer = reader.license("READ-00001".into()).await.unwrap();
        assert!(answer.is_some());
        drop(reader);
        // The threads are gone: only this test holds the file now.
        assert_eq!(Arc::strong_count(&db), 1);
    }
}
