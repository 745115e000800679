//! Key → row in a few memory reads: an open-addressing table of row numbers
//! (4 bytes a slot and a 1-byte tag, at most 3/4 full: 7–13 bytes a row), the
//! keys themselves staying in the arena. A change to a license (every first
//! activation) finds its row here instead of by a binary search whose every
//! step is a cache miss.
//!
//! Beside each slot, one byte of its key's hash (a tag): a probe reads a
//! row's key in the arena (two more cache misses) only when the tag matches.
//! A registry miss asks here first whether a client's key exists at all
//! (perf, session 17: `find` was ~0.5 µs of a ~22 µs miss; unknown keys and
//! collisions now stop at the tag).

use std::hash::BuildHasher;

use super::arena::KeyArena;

/// A free slot.
const EMPTY: u32 = u32::MAX;

/// Rows by key hash (linear probing; rows are only added, see `Shelf`).
#[derive(Default)]
pub(super) struct RowIndex {
    slots: Vec<u32>,
    /// The top byte of the hash of each slot's key (meaningless when empty).
    tags: Vec<u8>,
    len: usize,
    hasher: foldhash::fast::RandomState,
}

impl RowIndex {
    /// The key's first slot and its tag.
    fn home(&self, key: &[u8]) -> (usize, u8) {
        let hash = self.hasher.hash_one(key);
        (hash as usize & (self.slots.len() - 1), (hash >> 56) as u8)
    }

    /// The row holding `key`, live or not.
    pub(super) fn find(&self, keys: &KeyArena, key: &[u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let (mut i, tag) = self.home(key);
        loop {
            match self.slots[i] {
                EMPTY => return None,
                r if self.tags[i] == tag && keys.bytes(r) == key => return Some(r),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Adds `row` (its key already in the arena and in no other row).
    pub(super) fn insert(&mut self, keys: &KeyArena, row: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            // Doubles the slots: between 1.3 and 2.7 slots a row.
            self.grow(keys, self.len + 1);
        }
        self.place(keys, row);
        self.len += 1;
    }

    fn place(&mut self, keys: &KeyArena, row: u32) {
        let mask = self.slots.len() - 1;
        let (mut i, tag) = self.home(keys.bytes(row));
        while self.slots[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = row;
        self.tags[i] = tag;
    }

    /// Room for `rows` rows in all, every present row placed again.
    fn grow(&mut self, keys: &KeyArena, rows: usize) {
        let size = (rows * 4 / 3 + 1).next_power_of_two().max(16);
        if size <= self.slots.len() {
            return;
        }
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        self.tags = vec![0; size];
        for r in old.into_iter().filter(|r| *r != EMPTY) {
            self.place(keys, r);
        }
    }

    /// Room for `n` more rows before a load (one rehash instead of many).
    pub(super) fn reserve(&mut self, keys: &KeyArena, n: usize) {
        self.grow(keys, self.len + n);
    }

    /// The index of rows `0..n` of `keys` (after a compaction).
    pub(super) fn of_rows(keys: &KeyArena, n: usize) -> RowIndex {
        let mut index = RowIndex::default();
        index.grow(keys, n);
        for r in 0..n as u32 {
            index.place(keys, r);
        }
        index.len = n;
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key added is found at its row, through growth; others are not.
    #[test]
    fn rows_are_found_by_key_through_growth() {
        let mut keys = KeyArena::default();
        let mut index = RowIndex::default();
        for r in 0..5_000u32 {
            keys.push(&format!("KEY-{r:05}"));
            index.insert(&keys, r);
        }
        for r in (0..5_000u32).step_by(7) {
            assert_eq!(index.find(&keys, format!("KEY-{r:05}").as_bytes()), Some(r));
        }
        assert_eq!(index.find(&keys, b"KEY-05000"), None);
        assert_eq!(index.find(&keys, b""), None);
        assert!(index.slots.len() * 3 >= index.len * 4);
        assert!(index.slots.len() <= index.len * 3, "memory stays bounded");
        assert_eq!(index.tags.len(), index.slots.len());
        let rebuilt = RowIndex::of_rows(&keys, 5_000);
        assert_eq!(rebuilt.find(&keys, b"KEY-04999"), Some(4_999));
        assert_eq!(RowIndex::default().find(&keys, b"KEY-00000"), None);
    }
}
