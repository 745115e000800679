//! The catalog's compact building blocks: every key in one byte arena (a row's
//! key is the bytes between two offsets) and interned product and customer ids
//! (a `u32` per row instead of a 16-byte id plus map overhead).

use std::collections::HashMap;

use uuid::Uuid;

/// Keys of a shelf, row after row, in one buffer: a key never changes for its
/// row, so appending is the only write.
#[derive(Default)]
pub(super) struct KeyArena {
    bytes: Vec<u8>,
    /// End offset of each row's key; the row before's end is its start.
    ends: Vec<u32>,
}

impl KeyArena {
    /// Appends a key for the next row.
    pub(super) fn push(&mut self, key: &str) {
        self.bytes.extend_from_slice(key.as_bytes());
        self.ends.push(self.bytes.len() as u32);
    }

    /// The key of `row` (keys are ASCII, so any byte slice of one is a `str`).
    pub(super) fn get(&self, row: u32) -> &str {
        std::str::from_utf8(self.bytes(row)).unwrap_or_default()
    }

    /// The key of `row` as bytes: what the orders' binary searches compare
    /// (byte order is `str` order, without a UTF-8 check per comparison).
    pub(super) fn bytes(&self, row: u32) -> &[u8] {
        let row = row as usize;
        let start = if row == 0 {
            0
        } else {
            self.ends[row - 1] as usize
        };
        &self.bytes[start..self.ends[row] as usize]
    }

    /// How many rows have a key.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Room for `n` more keys of a typical length, before a load.
    pub(super) fn reserve(&mut self, n: usize) {
        self.bytes.reserve(n.saturating_mul(24));
        self.ends.reserve(n);
    }

    /// Gives back the growth slack once a load is done.
    pub(super) fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// Ids seen by a shelf, each given a small number once (never reused).
#[derive(Default)]
pub(super) struct Interner {
    ids: Vec<Uuid>,
    index: HashMap<Uuid, u32>,
}

/// The interned number of "no customer".
pub(super) const NONE: u32 = u32::MAX;

impl Interner {
    /// The number of `id`, given one if new.
    pub(super) fn intern(&mut self, id: Uuid) -> u32 {
        if let Some(n) = self.index.get(&id) {
            return *n;
        }
        let n = self.ids.len() as u32;
        self.ids.push(id);
        self.index.insert(id, n);
        n
    }

    /// The number of `id` if it was ever seen (a filter on an unseen id matches nothing).
    pub(super) fn find(&self, id: Uuid) -> Option<u32> {
        self.index.get(&id).copied()
    }

    /// The id behind a number.
    pub(super) fn id(&self, n: u32) -> Uuid {
        self.ids[n as usize]
    }

    /// Every interned id, by number.
    pub(super) fn ids(&self) -> &[Uuid] {
        &self.ids
    }
}
