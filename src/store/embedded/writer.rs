//! Group commit: the one writer thread of a redb file.
//!
//! Protocol: a caller sends a write (work on a `WriteTransaction` plus a
//! oneshot reply) into a bounded queue and awaits the reply; a full queue makes
//! callers wait (backpressure). The writer takes one write, drains what else is
//! already waiting (at most [`MAX_BATCH`]), runs them in order in ONE write
//! transaction and commits it once (`Durability::Immediate`: one fsync for the
//! batch). Only then does it answer each write: when a reply says `Ok`, the
//! change is durable. If the commit fails, every write of the batch gets the error.
//!
//! A write that fails must leave no trace, yet redb refuses savepoints in a
//! transaction that has written. So a failure aborts the whole transaction:
//! the failed write is answered with its error, the writes before it run again
//! and commit on their own, and the writes after it go on in a new transaction.
//! Each write therefore runs at most twice, which is why the work is `FnMut`
//! (it borrows what it captured, it never consumes it) and must not depend on
//! anything but the transaction and its own arguments.
//!
//! Dropping the [`Writer`] closes the queue; the thread finishes what is queued
//! and exits, and the drop waits for it (so the file can be opened again).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use super::batched::{Batched, Shape};
use super::tables::unavailable;
use crate::store::StoreError;

/// Most writes committed together: bounds a batch's time and memory.
pub(super) const MAX_BATCH: usize = 512;
/// Writes waiting for the writer before callers wait to enqueue.
const QUEUE: usize = 1024;

/// One queued write, whatever its result type.
trait Pending: Send {
    /// Runs the work in `txn`, keeping its result for the answer.
    fn run(&mut self, txn: &WriteTransaction) -> Result<(), StoreError>;
    /// Answers the caller: the kept result if `outcome` is `Ok`, else the error.
    fn answer(self: Box<Self>, outcome: Result<(), StoreError>);
}

struct Op<T, F> {
    work: F,
    done: Option<T>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Pending for Op<T, F>
where
    T: Send,
    F: FnMut(&WriteTransaction) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, txn: &WriteTransaction) -> Result<(), StoreError> {
        self.done = None;
        let work = &mut self.work;
        let out = catch_unwind(AssertUnwindSafe(|| work(txn)))
            .unwrap_or_else(|_| Err(StoreError::Unavailable("store write panicked".into())));
        self.done = Some(out?);
        Ok(())
    }

    fn answer(self: Box<Self>, outcome: Result<(), StoreError>) {
        let Op { done, reply, .. } = *self;
        let result = outcome.and_then(|()| {
            done.ok_or_else(|| StoreError::Unavailable("store write did not run".into()))
        });
        // The caller may have gone away (request cancelled): nothing to tell.
        let _ = reply.send(result);
    }
}

/// The group-commit writer of each file (dropped with the store: threads end).
pub(super) struct Writers {
    pub(super) global: Writer,
    pub(super) production: Writer,
    pub(super) staging: Writer,
}

/// The single writer of one redb file; see the module header for the protocol.
pub(super) struct Writer {
    thread: Batched<Box<dyn Pending>>,
}

impl Writer {
    /// Starts the writer thread of `db`; `name` labels the thread (the file).
    pub(super) fn start(db: Arc<Database>, name: &str) -> Result<Self, StoreError> {
        let shape = Shape {
            name: &format!("kw-writer-{name}"),
            threads: 1,
            queue: QUEUE,
            max_batch: MAX_BATCH,
        };
        let thread = Batched::start(shape, move |batch| commit_batch(&db, batch))?;
        Ok(Writer { thread })
    }

    /// Runs `work` in the next group commit; answers once that commit is durable.
    pub(super) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let op = |reply| {
            let op = Op {
                work,
                done: None,
                reply,
            };
            Box::new(op) as Box<dyn Pending>
        };
        self.thread.ask(op).await?
    }

    /// Closes the queue and waits for the thread to commit what was queued
    /// and exit (shutdown: the file can then be closed cleanly).
    pub(super) fn close(&self) {
        self.thread.close();
    }
}

/// Commits `ops` in order, each either written and answered after the commit
/// that holds it, or answered with its error and not written at all.
fn commit_batch(db: &Database, mut ops: Vec<Box<dyn Pending>>) {
    while !ops.is_empty() {
        let txn = match db.begin_write() {
            Ok(txn) => txn,
            Err(e) => return answer_all(ops, Err(unavailable(e))),
        };
        match run_all(&txn, &mut ops) {
            Ok(()) => {
                let outcome = txn.commit().map_err(unavailable);
                return answer_all(ops, outcome);
            }
            Err((failed, e)) => {
                // It may have written part of its change: drop the whole attempt.
                let _ = txn.abort();
                let mut rest = ops.split_off(failed);
                rest.remove(0).answer(Err(e));
                // The writes before it succeeded: they commit on their own, first.
                commit_batch(db, std::mem::replace(&mut ops, rest));
            }
        }
    }
}

/// Runs every op in `txn`; the index and error of the first that fails.
fn run_all(
    txn: &WriteTransaction,
    ops: &mut [Box<dyn Pending>],
) -> Result<(), (usize, StoreError)> {
    for (i, op) in ops.iter_mut().enumerate() {
        op.run(txn).map_err(|e| (i, e))?;
    }
    Ok(())
}

fn answer_all(ops: Vec<Box<dyn Pending>>, outcome: Result<(), StoreError>) {
    for op in ops {
        op.answer(outcome.clone());
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
