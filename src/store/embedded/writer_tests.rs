//! The group-commit writer: what a batch commits, what a failed write leaves
//! (nothing), the order of writes, and the thread's end with the store.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};

use super::Writer;
use crate::store::StoreError;

const T: TableDefinition<&str, u64> = TableDefinition::new("t");

fn open() -> (tempfile::TempDir, Arc<Database>, Writer) {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Database::create(dir.path().join("w.redb")).unwrap());
    let writer = Writer::start(db.clone(), "test").unwrap();
    (dir, db, writer)
}

fn put(txn: &WriteTransaction, key: &str, v: u64) -> Result<(), StoreError> {
    let mut t = txn.open_table(T).unwrap();
    t.insert(key, v).unwrap();
    Ok(())
}

fn read(db: &Database, key: &str) -> Option<u64> {
    let txn = db.begin_read().unwrap();
    let Ok(t) = txn.open_table(T) else {
        return None;
    };
    let v = t.get(key).unwrap();
    v.map(|g| g.value())
}

/// Holds the writer thread in a write until `release` is dropped, so the
/// writes sent meanwhile are drained into one batch behind it.
async fn hold(writer: &Arc<Writer>) -> (std::sync::mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let (running, mut started) = tokio::sync::mpsc::unbounded_channel::<()>();
    let w = writer.clone();
    let held = tokio::spawn(async move {
        let work = move |_: &WriteTransaction| {
            let _ = running.send(());
            // A second run (after a failure behind it) finds the gate closed.
            let _ = gate.recv();
            Ok(())
        };
        w.write(work).await.unwrap();
    });
    started.recv().await.unwrap();
    (release, held)
}

/// Waits until `n` writes wait in the queue (no clock: the writer is held).
async fn wait_queued(writer: &Writer, n: usize) {
    while writer.thread.waiting() != n {
        tokio::task::yield_now().await;
    }
}

fn counted(
    runs: &Arc<AtomicUsize>,
    key: &'static str,
    fail: bool,
) -> impl FnMut(&WriteTransaction) -> Result<(), StoreError> + Send + 'static {
    let runs = runs.clone();
    move |txn| {
        runs.fetch_add(1, Ordering::SeqCst);
        put(txn, key, 1)?;
        match fail {
            true => Err(StoreError::Conflict(format!("{key} lost"))),
            false => Ok(()),
        }
    }
}

// One test thread: a spawned write then takes its queue slot and enqueues in
// one poll, so `wait_queued` fixes the order (on two threads a write could
// hold a slot, counted, before it enqueued, and a later one pass it).
#[tokio::test]
async fn a_conflict_in_the_middle_of_a_batch_is_unwritten_and_the_others_commit() {
    let (_dir, db, writer) = open();
    let writer = Arc::new(writer);
    let (release, held) = hold(&writer).await;
    let runs: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::default()).collect();
    let mut sent = Vec::new();
    for (i, (key, fail)) in [("a", false), ("b", true), ("c", false)]
        .into_iter()
        .enumerate()
    {
        let (w, work) = (writer.clone(), counted(&runs[i], key, fail));
        sent.push(tokio::spawn(async move { w.write(work).await }));
        wait_queued(&writer, i + 1).await;
    }
    drop(release);
    held.await.unwrap();
    let answers: Vec<_> = futures_util::future::join_all(sent).await;
    let answers: Vec<_> = answers.into_iter().map(|a| a.unwrap()).collect();
    assert!(answers[0].is_ok() && answers[2].is_ok(), "{answers:?}");
    assert!(matches!(answers[1], Err(StoreError::Conflict(_))));
    assert_eq!(
        (read(&db, "a"), read(&db, "b"), read(&db, "c")),
        (Some(1), None, Some(1))
    );
    // One batch: "a" ran again after "b" failed behind it, "c" ran once.
    let counts: Vec<_> = runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
    assert_eq!(counts, [2, 1, 1]);
}

#[tokio::test]
async fn a_failing_write_leaves_nothing() {
    let (_dir, db, writer) = open();
    let runs = Arc::default();
    let answer = writer.write(counted(&runs, "x", true)).await;
    assert!(matches!(answer, Err(StoreError::Conflict(_))));
    assert_eq!(read(&db, "x"), None);
    writer.write(|txn| put(txn, "y", 2)).await.unwrap();
    assert_eq!((read(&db, "x"), read(&db, "y")), (None, Some(2)));
}

#[tokio::test]
async fn a_panicking_write_is_an_error_and_the_writer_goes_on() {
    let (_dir, db, writer) = open();
    let answer = writer
        .write(|txn| -> Result<(), StoreError> {
            put(txn, "p", 1)?;
            panic!("a bug in a write")
        })
        .await;
    assert!(matches!(answer, Err(StoreError::Unavailable(_))));
    writer.write(|txn| put(txn, "q", 1)).await.unwrap();
    assert_eq!((read(&db, "p"), read(&db, "q")), (None, Some(1)));
}

// One test thread: a spawned write then takes its queue slot and enqueues in
// one poll, so `wait_queued` fixes the order (on two threads a write could
// hold a slot, counted, before it enqueued, and a later one pass it).
#[tokio::test]
async fn writes_of_one_batch_apply_in_the_order_they_were_sent() {
    let (_dir, db, writer) = open();
    let writer = Arc::new(writer);
    let (release, held) = hold(&writer).await;
    let mut sent = Vec::new();
    for i in 1..=5u64 {
        let w = writer.clone();
        // Each write appends its digit to what the writes before it left.
        sent.push(tokio::spawn(async move {
            w.write(move |txn| {
                let before = {
                    let t = txn.open_table(T).unwrap();
                    let v = t.get("seq").unwrap();
                    v.map_or(0, |g| g.value())
                };
                put(txn, "seq", before * 10 + i)?;
                Ok(before)
            })
            .await
        }));
        wait_queued(&writer, i as usize).await;
    }
    drop(release);
    held.await.unwrap();
    let seen: Vec<u64> = futures_util::future::join_all(sent)
        .await
        .into_iter()
        .map(|a| a.unwrap().unwrap())
        .collect();
    assert_eq!(seen, [0, 1, 12, 123, 1234]);
    assert_eq!(read(&db, "seq"), Some(12345));
}

#[tokio::test]
async fn dropping_the_writer_ends_its_thread_and_frees_the_file() {
    let (dir, db, writer) = open();
    writer.write(|txn| put(txn, "k", 7)).await.unwrap();
    drop(writer);
    drop(db);
    let again = Database::create(dir.path().join("w.redb")).unwrap();
    assert_eq!(read(&again, "k"), Some(7));
}
