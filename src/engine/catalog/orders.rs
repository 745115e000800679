//! The key order of a shelf as sorted arrays of row numbers: `sorted` (merged)
//! plus a short sorted `tail` of rows added since, merged in when it grows or
//! when a query needs ranks. It serves listings in key order; finding one
//! key's row is the `RowIndex`'s job.

use super::arena::KeyArena;

/// Rows added before the tail is merged into the sorted array.
const TAIL_MAX: usize = 4096;

/// Rows in key order, and each row's place in it (its rank).
#[derive(Default)]
pub(super) struct KeyOrder {
    sorted: Vec<u32>,
    tail: Vec<u32>,
    /// `rank[row]`: the row's index in `sorted`; valid only when `ranked`.
    rank: Vec<u32>,
    ranked: bool,
}

impl KeyOrder {
    /// Places a new row (its key already in the arena) in the order.
    pub(super) fn add(&mut self, keys: &KeyArena, row: u32) {
        let key = keys.bytes(row);
        let at = self.tail.partition_point(|r| keys.bytes(*r) < key);
        self.tail.insert(at, row);
        self.ranked = false;
        if self.tail.len() >= TAIL_MAX {
            self.merge(keys);
        }
    }

    /// Merges the tail: each tail row's place is found by binary search and the
    /// runs of `sorted` between them are copied, so a merge costs a copy, not a
    /// string comparison per row.
    fn merge(&mut self, keys: &KeyArena) {
        if self.tail.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(self.sorted.len() + self.tail.len());
        let mut from = 0;
        for &t in &self.tail {
            let key = keys.bytes(t);
            let at = from + self.sorted[from..].partition_point(|r| keys.bytes(*r) < key);
            out.extend_from_slice(&self.sorted[from..at]);
            out.push(t);
            from = at;
        }
        out.extend_from_slice(&self.sorted[from..]);
        self.sorted = out;
        self.tail.clear();
    }

    /// Whether [`KeyOrder::settle`] has work to do.
    pub(super) fn is_settled(&self) -> bool {
        self.tail.is_empty() && self.ranked
    }

    /// Merges the tail and numbers every row by its place, for a query.
    pub(super) fn settle(&mut self, keys: &KeyArena) {
        self.merge(keys);
        if !self.ranked {
            self.rank.clear();
            self.rank.resize(keys.len(), 0);
            for (i, r) in self.sorted.iter().enumerate() {
                self.rank[*r as usize] = i as u32;
            }
            self.ranked = true;
        }
    }

    /// The place of `row` in key order (after [`KeyOrder::settle`]).
    pub(super) fn rank(&self, row: u32) -> u32 {
        self.rank[row as usize]
    }

    /// Every row in key order (after [`KeyOrder::settle`]).
    pub(super) fn rows(&self) -> &[u32] {
        &self.sorted
    }

    /// The order of `n` rows that are already in key order (after a compaction).
    pub(super) fn identity(n: usize) -> KeyOrder {
        KeyOrder {
            sorted: (0..n as u32).collect(),
            tail: Vec::new(),
            rank: (0..n as u32).collect(),
            ranked: true,
        }
    }

    /// Gives back growth slack.
    pub(super) fn shrink(&mut self) {
        self.sorted.shrink_to_fit();
        self.tail.shrink_to_fit();
        self.rank.shrink_to_fit();
    }
}
