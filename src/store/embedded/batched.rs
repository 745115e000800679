//! The thread plumbing a file's writer (`writer.rs`) and readers (`reader.rs`)
//! share: a bounded queue (callers wait when it is full) served by a fixed
//! number of named threads, each taking the first waiting item and every item
//! queued behind it (up to a bound) as one batch. Closing — at shutdown, or on
//! drop — closes the queue; the threads handle what was queued, exit, and are
//! joined (so the file they hold can be closed or opened again).

use std::thread::JoinHandle;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use super::calls::closed;
use super::tables::unavailable;
use crate::store::StoreError;

/// A queue and the threads that serve it in batches.
pub(super) struct Batched<T> {
    queue: Mutex<Option<mpsc::Sender<T>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// How to start a [`Batched`]: thread names, counts and bounds.
pub(super) struct Shape<'a> {
    /// Thread name (suffixed `-{i}` when there are several).
    pub name: &'a str,
    pub threads: usize,
    pub queue: usize,
    pub max_batch: usize,
}

impl<T: Send + 'static> Batched<T> {
    /// Starts the threads; each hands every batch it takes to `handle`.
    pub(super) fn start(
        shape: Shape<'_>,
        handle: impl Fn(Vec<T>) + Clone + Send + 'static,
    ) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::channel(shape.queue);
        let rx = std::sync::Arc::new(Mutex::new(rx));
        let mut threads = Vec::with_capacity(shape.threads);
        for i in 0..shape.threads {
            let name = match shape.threads {
                1 => shape.name.to_owned(),
                _ => format!("{}-{i}", shape.name),
            };
            let (rx, handle, max) = (rx.clone(), handle.clone(), shape.max_batch);
            let thread = std::thread::Builder::new()
                .name(name)
                .spawn(move || {
                    while let Some(batch) = take_batch(&rx, max) {
                        handle(batch);
                    }
                })
                .map_err(|e| unavailable(format!("cannot start {}: {e}", shape.name)))?;
            threads.push(thread);
        }
        Ok(Batched {
            queue: Mutex::new(Some(tx)),
            threads: Mutex::new(threads),
        })
    }

    /// Queues the item `ask` makes around a reply channel and awaits the
    /// reply; "unavailable" once closed (or if the item was dropped unanswered).
    pub(super) async fn ask<R>(
        &self,
        ask: impl FnOnce(oneshot::Sender<R>) -> T,
    ) -> Result<R, StoreError> {
        let queue = self.queue.lock().clone().ok_or_else(closed)?;
        let (reply, answer) = oneshot::channel();
        queue.send(ask(reply)).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())
    }

    /// Items waiting in the queue (tests).
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        (self.queue.lock().as_ref()).map_or(0, |q| q.max_capacity() - q.capacity())
    }
}

impl<T> Batched<T> {
    /// Closes the queue and waits for the threads to handle what was queued
    /// and exit.
    pub(super) fn close(&self) {
        self.queue.lock().take();
        let threads = std::mem::take(&mut *self.threads.lock());
        for thread in threads {
            let _ = thread.join();
        }
    }
}

impl<T> Drop for Batched<T> {
    fn drop(&mut self) {
        self.close();
    }
}

/// The first waiting item and all queued behind it, at most `max`; `None`
/// once the queue is closed and empty. The lock is held only while taking,
/// so another thread takes the next batch while this one handles its own.
fn take_batch<T>(rx: &Mutex<mpsc::Receiver<T>>, max: usize) -> Option<Vec<T>> {
    let mut rx = rx.lock();
    let first = rx.blocking_recv()?;
    let mut batch = vec![first];
    while batch.len() < max {
        match rx.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
    Some(batch)
}
