//! Every customer account, held per node so the Customers page, the pickers,
//! global search and the license listing's names do not read the whole
//! customer table on each request. A write through this node marks the book
//! stale (the next read loads it again); writes by other nodes show within
//! [`FRESH`]. Searches and pages run on the snapshot, off the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::domain::customer::{Customer, CustomerStatus};
use crate::store::{Store, StoreError};

/// How long a loaded book answers before it is read again.
pub const FRESH: Duration = Duration::from_secs(10);

/// Every customer at one moment, by id and in display order.
pub struct Snapshot {
    pub by_id: Arc<HashMap<Uuid, Customer>>,
    /// (case-folded name, id) by that name, then email: searches compare
    /// without folding each name again.
    order: Vec<(String, Uuid)>,
}

/// Which customers a list shows.
#[derive(Debug, Default, Clone)]
pub struct CustomerFilter {
    /// Part of the name or email, any case; empty matches all.
    pub q: String,
    pub status: Option<CustomerStatus>,
}

impl CustomerFilter {
    fn keeps(&self, needle: &str, folded_name: &str, c: &Customer) -> bool {
        self.status.is_none_or(|s| c.status() == s)
            && (needle.is_empty() || c.email.contains(needle) || folded_name.contains(needle))
    }
}

impl Snapshot {
    /// Orders `all` for display.
    pub fn build(all: Vec<Customer>) -> Snapshot {
        let mut keyed: Vec<(String, String, Uuid)> = all
            .iter()
            .map(|c| (c.name.to_lowercase(), c.email.clone(), c.id))
            .collect();
        keyed.sort_unstable();
        Snapshot {
            order: keyed.into_iter().map(|(name, _, id)| (name, id)).collect(),
            by_id: Arc::new(all.into_iter().map(|c| (c.id, c)).collect()),
        }
    }

    /// How many accounts there are.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Each customer with its folded name, in display order.
    fn in_order(&self) -> impl Iterator<Item = (&str, &Customer)> {
        self.order
            .iter()
            .filter_map(|(name, id)| Some((name.as_str(), self.by_id.get(id)?)))
    }

    /// The matching customers in display order: `skip` of them left out, at
    /// most `take` returned, and how many match in all.
    pub fn matching(&self, f: &CustomerFilter, skip: usize, take: usize) -> (Vec<Customer>, usize) {
        let needle = f.q.trim().to_lowercase();
        let mut total = 0;
        let mut out = Vec::new();
        for (name, c) in self.in_order() {
            if !f.keeps(&needle, name, c) {
                continue;
            }
            if total >= skip && out.len() < take {
                out.push(c.clone());
            }
            total += 1;
        }
        (out, total)
    }

    /// At most `limit` customers for a picker: an exact email first, then
    /// emails that start with `q`, then the rest that contain it.
    pub fn pick(&self, q: &str, limit: usize) -> Vec<Customer> {
        let needle = q.trim().to_lowercase();
        if needle.is_empty() {
            return Vec::new();
        }
        let rank = |c: &Customer| {
            if c.email == needle {
                0
            } else if c.email.starts_with(&needle) {
                1
            } else {
                2
            }
        };
        let f = CustomerFilter {
            q: needle.clone(),
            status: None,
        };
        let mut best: Vec<(u8, usize, &Customer)> = Vec::new();
        for (i, (name, c)) in self.in_order().enumerate() {
            if f.keeps(&needle, name, c) {
                best.push((rank(c), i, c));
                if best.len() > limit * 4 {
                    best.sort_unstable_by_key(|b| (b.0, b.1));
                    best.truncate(limit);
                }
            }
        }
        best.sort_unstable_by_key(|b| (b.0, b.1));
        best.into_iter().take(limit).map(|b| b.2.clone()).collect()
    }
}

struct Loaded {
    snap: Arc<Snapshot>,
    at: Instant,
    generation: u64,
}

/// The node's copy of every customer (see the module comment).
pub struct CustomerBook {
    loaded: parking_lot::Mutex<Option<Loaded>>,
    /// One load at a time; the others wait for it and share it.
    loading: tokio::sync::Mutex<()>,
    generation: AtomicU64,
}

impl Default for CustomerBook {
    fn default() -> Self {
        CustomerBook {
            loaded: parking_lot::Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
        }
    }
}

impl CustomerBook {
    /// A customer was written on this node: the next read loads the book again.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        let generation = self.generation.load(Ordering::SeqCst);
        let loaded = self.loaded.lock();
        loaded
            .as_ref()
            .filter(|l| l.generation == generation && l.at.elapsed() < FRESH)
            .map(|l| l.snap.clone())
    }

    /// The book as of now (loaded from the store when stale; ordering runs on
    /// the blocking pool).
    pub async fn snapshot(&self, store: &dyn Store) -> Result<Arc<Snapshot>, StoreError> {
        if let Some(s) = self.current() {
            return Ok(s);
        }
        let _one = self.loading.lock().await;
        if let Some(s) = self.current() {
            return Ok(s);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let at = Instant::now();
        let all = store.list_customers().await?;
        let snap = tokio::task::spawn_blocking(move || Arc::new(Snapshot::build(all)))
            .await
            .map_err(|e| StoreError::Unavailable(format!("ordering customers: {e}")))?;
        *self.loaded.lock() = Some(Loaded {
            snap: snap.clone(),
            at,
            generation,
        });
        Ok(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn book(n: usize) -> Snapshot {
        let now = Utc::now();
        Snapshot::build(
            (0..n)
                .map(|i| {
                    let mut c = Customer::new(
                        format!("user{i:06}@example.com"),
                        format!("Name {:06}", n - i),
                        now,
                    );
                    c.password_hash = (i % 3 != 0).then(|| "h".into());
                    c.disabled = i % 10 == 0;
                    c
                })
                .collect(),
        )
    }

    #[test]
    fn pages_filter_and_count_in_name_order() {
        let b = book(1000);
        let all = CustomerFilter::default();
        let (first, total) = b.matching(&all, 0, 50);
        assert_eq!((first.len(), total), (50, 1000));
        assert_eq!(first[0].name, "Name 000001");
        let (last, _) = b.matching(&all, 980, 50);
        assert_eq!(last.len(), 20);
        assert_eq!(last[19].name, "Name 001000");
        let disabled = CustomerFilter {
            status: Some(CustomerStatus::Disabled),
            ..Default::default()
        };
        assert_eq!(b.matching(&disabled, 0, 10).1, 100);
        let q = CustomerFilter {
            q: " USER00012".into(),
            ..Default::default()
        };
        let (hits, total) = b.matching(&q, 0, 5);
        assert_eq!((hits.len(), total), (5, 10));
        assert!(hits.iter().all(|c| c.email.starts_with("user00012")));
    }

    #[test]
    fn picker_puts_the_exact_email_first_and_stays_small() {
        let b = book(100_000);
        assert_eq!(b.len(), 100_000);
        let hits = b.pick("user000123@example.com", 10);
        assert_eq!(hits.len(), 1);
        let hits = b.pick("user00012", 10);
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|c| c.email.starts_with("user00012")));
        let hits = b.pick("example.com", 10);
        assert_eq!(hits.len(), 10);
        assert!(b.pick("  ", 10).is_empty());
        assert!(b.pick("nobody-here", 10).is_empty());
    }
}
