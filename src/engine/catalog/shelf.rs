//! One environment's summaries in compact, fixed-width columns: a row per
//! license ever seen (a deleted one is a tombstone until the next compaction),
//! its key in the arena, product and customer as interned numbers, status as a
//! byte, timestamps as seconds plus nanoseconds; a row index by key hash (5 to
//! 11 bytes a row). About 90 bytes a license.

use chrono::{DateTime, Utc};

use super::arena::{Interner, KeyArena, NONE};
use super::orders::KeyOrder;
use super::row_index::RowIndex;
use super::LicenseSummary;
use crate::domain::{License, LicenseKey, LicenseStatus};

/// The status byte of a deleted row.
const DEAD: u8 = u8::MAX;
/// The seconds of "no expiry".
const LIFETIME: i64 = i64::MIN;

/// The columns of one environment (see the module documentation).
#[derive(Default)]
pub(super) struct Shelf {
    pub(super) keys: KeyArena,
    pub(super) order: KeyOrder,
    /// Key → row, for changes and lookups (the order is for listings).
    index: RowIndex,
    pub(super) products: Interner,
    pub(super) customers: Interner,
    pub(super) product: Vec<u32>,
    /// [`NONE`] when unassigned.
    pub(super) customer: Vec<u32>,
    /// Index into [`LicenseStatus::ALL`], or [`DEAD`].
    pub(super) status: Vec<u8>,
    pub(super) ever_activated: Vec<bool>,
    /// An abuse case waits for review.
    pub(super) open_case: Vec<bool>,
    pub(super) limit: Vec<i32>,
    pub(super) in_use: Vec<u32>,
    pub(super) created: Vec<i64>,
    pub(super) created_ns: Vec<u32>,
    /// [`LIFETIME`] when the license never expires.
    pub(super) expires: Vec<i64>,
    pub(super) expires_ns: Vec<u32>,
    live: usize,
}

/// The status byte of a state.
pub(super) fn status_code(s: LicenseStatus) -> u8 {
    LicenseStatus::ALL.iter().position(|x| *x == s).unwrap_or(0) as u8
}

impl Shelf {
    /// How many licenses the shelf holds (tombstones not counted).
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// Rows, tombstones included.
    pub(super) fn rows(&self) -> u32 {
        self.status.len() as u32
    }

    /// Whether `row` holds a license (not a deleted one).
    pub(super) fn is_live(&self, row: u32) -> bool {
        self.status[row as usize] != DEAD
    }

    /// The live row of `key`.
    pub(super) fn find(&self, key: &str) -> Option<u32> {
        self.index
            .find(&self.keys, key.as_bytes())
            .filter(|r| self.is_live(*r))
    }

    /// The state of a live row.
    pub(super) fn status_of(&self, row: u32) -> LicenseStatus {
        LicenseStatus::ALL[self.status[row as usize] as usize]
    }

    /// Expiry of a row, `None` for lifetime licenses.
    pub(super) fn expires_at(&self, row: u32) -> Option<DateTime<Utc>> {
        let r = row as usize;
        (self.expires[r] != LIFETIME)
            .then(|| DateTime::from_timestamp(self.expires[r], self.expires_ns[r]))
            .flatten()
    }

    /// Creation time of a row.
    pub(super) fn created_at(&self, row: u32) -> DateTime<Utc> {
        let r = row as usize;
        DateTime::from_timestamp(self.created[r], self.created_ns[r]).unwrap_or_default()
    }

    /// The customer id of a row.
    pub(super) fn customer_of(&self, row: u32) -> Option<uuid::Uuid> {
        let c = self.customer[row as usize];
        (c != NONE).then(|| self.customers.id(c))
    }

    /// Records a license; returns its row.
    pub(super) fn upsert(&mut self, l: &License) -> u32 {
        let row = match self.index.find(&self.keys, l.key.as_str().as_bytes()) {
            Some(r) => r,
            None => self.push_row(l.key.as_str()),
        };
        if !self.is_live(row) {
            self.live += 1;
        }
        let r = row as usize;
        self.product[r] = self.products.intern(l.product_id);
        self.customer[r] = l.customer_id.map_or(NONE, |c| self.customers.intern(c));
        self.status[r] = status_code(l.status);
        self.ever_activated[r] = l.ever_activated || !l.activations.is_empty();
        self.open_case[r] = l.has_open_case();
        self.limit[r] = l.activation_limit.get();
        self.in_use[r] = l.active_count() as u32;
        self.created[r] = l.created_at.timestamp();
        self.created_ns[r] = l.created_at.timestamp_subsec_nanos();
        self.expires[r] = l.expires_at.map_or(LIFETIME, |t| t.timestamp());
        self.expires_ns[r] = l.expires_at.map_or(0, |t| t.timestamp_subsec_nanos());
        row
    }

    /// A new row for `key`, a tombstone until filled.
    fn push_row(&mut self, key: &str) -> u32 {
        let row = self.rows();
        self.keys.push(key);
        self.product.push(0);
        self.customer.push(NONE);
        self.status.push(DEAD);
        self.ever_activated.push(false);
        self.open_case.push(false);
        self.limit.push(0);
        self.in_use.push(0);
        self.created.push(0);
        self.created_ns.push(0);
        self.expires.push(LIFETIME);
        self.expires_ns.push(0);
        self.order.add(&self.keys, row);
        self.index.insert(&self.keys, row);
        row
    }

    /// Turns the license's row into a tombstone; compacts when they pile up.
    pub(super) fn remove(&mut self, key: &str) {
        if let Some(row) = self.find(key) {
            self.status[row as usize] = DEAD;
            self.live -= 1;
            let dead = self.rows() as usize - self.live;
            if dead > 1024 && dead > self.live {
                self.compact();
            }
        }
    }

    /// What the License Keys table shows of a live row.
    pub(super) fn summary(&self, row: u32) -> Option<LicenseSummary> {
        let r = row as usize;
        Some(LicenseSummary {
            key: LicenseKey::parse(self.keys.get(row)).ok()?,
            product_id: self.products.id(self.product[r]),
            customer_id: self.customer_of(row),
            status: self.status_of(row),
            activation_limit: self.limit[r],
            activations_in_use: self.in_use[r],
            ever_activated: self.ever_activated[r],
            case_open: self.open_case[r],
            expires_at: self.expires_at(row),
            created_at: self.created_at(row),
        })
    }

    /// Rebuilds the columns without tombstones, rows in key order.
    pub(super) fn compact(&mut self) {
        self.order.settle(&self.keys);
        let keep: Vec<u32> = self
            .order
            .rows()
            .iter()
            .copied()
            .filter(|r| self.is_live(*r))
            .collect();
        let mut next = Shelf {
            products: std::mem::take(&mut self.products),
            customers: std::mem::take(&mut self.customers),
            ..Shelf::default()
        };
        for &row in &keep {
            next.keys.push(self.keys.get(row));
            next.copy_row(self, row);
        }
        next.live = keep.len();
        next.order = KeyOrder::identity(keep.len());
        next.index = RowIndex::of_rows(&next.keys, keep.len());
        *self = next;
        self.shrink();
    }

    /// Appends the columns of `from`'s `row` (the key is pushed by the caller).
    fn copy_row(&mut self, from: &Shelf, row: u32) {
        let r = row as usize;
        self.product.push(from.product[r]);
        self.customer.push(from.customer[r]);
        self.status.push(from.status[r]);
        self.ever_activated.push(from.ever_activated[r]);
        self.open_case.push(from.open_case[r]);
        self.limit.push(from.limit[r]);
        self.in_use.push(from.in_use[r]);
        self.created.push(from.created[r]);
        self.created_ns.push(from.created_ns[r]);
        self.expires.push(from.expires[r]);
        self.expires_ns.push(from.expires_ns[r]);
    }

    /// Room for `n` more rows and their keys (about 24 bytes each), before a load.
    pub(super) fn reserve(&mut self, n: usize) {
        self.keys.reserve(n);
        self.index.reserve(&self.keys, n);
        self.product.reserve(n);
        self.customer.reserve(n);
        self.status.reserve(n);
        self.ever_activated.reserve(n);
        self.open_case.reserve(n);
        self.limit.reserve(n);
        self.in_use.reserve(n);
        self.created.reserve(n);
        self.created_ns.reserve(n);
        self.expires.reserve(n);
        self.expires_ns.reserve(n);
    }

    /// Gives back growth slack (after a load or a compaction).
    pub(super) fn shrink(&mut self) {
        self.keys.shrink();
        self.order.shrink();
        self.product.shrink_to_fit();
        self.customer.shrink_to_fit();
        self.status.shrink_to_fit();
        self.ever_activated.shrink_to_fit();
        self.open_case.shrink_to_fit();
        self.limit.shrink_to_fit();
        self.in_use.shrink_to_fit();
        self.created.shrink_to_fit();
        self.created_ns.shrink_to_fit();
        self.expires.shrink_to_fit();
        self.expires_ns.shrink_to_fit();
    }
}
