//! The open-loop schedule: a thread that releases sends at a fixed rate.
//!
//! Tokio's timer ticks every millisecond, so sleeping tasks would send in
//! bursts of `rate / 1000` requests. A plain thread sleeping ~100 µs instead
//! releases sends almost evenly: send `g` (counted over all connections) is
//! due at `t0 + g / rate` and belongs to connection `g % connections`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// How often the pacer thread looks at the clock.
const TICK: Duration = Duration::from_micros(100);

/// Shared state between the pacer thread and the connections.
pub struct Pacer {
    t0: Instant,
    rate: f64,
    /// Number of sends scheduled in the whole phase.
    pub total: u64,
    /// Sends `0..released` are due.
    released: AtomicU64,
    wake: Vec<Notify>,
}

impl Pacer {
    /// Starts a pacer thread releasing `rate` sends/s from `t0` until `end`,
    /// spread over `connections`. The thread ends by itself at `end`.
    pub fn start(t0: Instant, end: Instant, rate: f64, connections: usize) -> Arc<Self> {
        let total = ((end - t0).as_secs_f64() * rate).ceil() as u64;
        let pacer = Arc::new(Self {
            t0,
            rate,
            total,
            released: AtomicU64::new(0),
            wake: (0..connections.max(1)).map(|_| Notify::new()).collect(),
        });
        let p = pacer.clone();
        std::thread::spawn(move || p.release_loop(end));
        pacer
    }

    /// The time send `g` is due.
    pub fn due(&self, g: u64) -> Instant {
        self.t0 + Duration::from_secs_f64(g as f64 / self.rate)
    }

    /// Whether send `g` has been released.
    pub fn is_released(&self, g: u64) -> bool {
        self.released.load(Ordering::Acquire) > g
    }

    /// Waits until send `g` (of connection `conn`) is released.
    pub async fn wait(&self, conn: usize, g: u64) {
        // Bounded: the pacer releases every send before its thread ends.
        while !self.is_released(g) {
            self.wake[conn % self.wake.len()].notified().await;
        }
    }

    fn release_loop(&self, end: Instant) {
        let hard_end = end + Duration::from_secs(1);
        let mut done = 0u64;
        while done < self.total {
            let now = Instant::now();
            let due = if now >= hard_end {
                self.total
            } else if now < self.t0 {
                0
            } else {
                (((now - self.t0).as_secs_f64() * self.rate).floor() as u64 + 1).min(self.total)
            };
            if due > done {
                self.released.store(due, Ordering::Release);
                let n = self.wake.len() as u64;
                // Wake each connection with a send in done..due once.
                for g in done..due.min(done + n) {
                    self.wake[(g % n) as usize].notify_one();
                }
                done = due;
            }
            if done < self.total {
                std::thread::sleep(TICK);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn releases_on_schedule() {
        let t0 = Instant::now();
        let end = t0 + Duration::from_millis(100);
        let pacer = Pacer::start(t0, end, 1000.0, 4);
        assert_eq!(pacer.total, 100);
        let mut handles = Vec::new();
        for conn in 0..4 {
            let p = pacer.clone();
            handles.push(tokio::spawn(async move {
                let mut worst = Duration::ZERO;
                for g in (conn as u64..p.total).step_by(4) {
                    p.wait(conn, g).await;
                    let now = Instant::now();
                    assert!(now + Duration::from_micros(1) >= p.due(g));
                    worst = worst.max(now - p.due(g));
                }
                worst
            }));
        }
        for h in handles {
            let worst = h.await.unwrap();
            assert!(worst < Duration::from_millis(50), "late by {worst:?}");
        }
    }
}
