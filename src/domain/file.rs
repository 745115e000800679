//! Product files kept as chunks in the store: what a file is (its description,
//! size, checksum and chunk layout), how an upload is cut into chunks as it
//! streams in, and which chunks (and which bytes of each) a byte range needs.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Environment;

/// Bytes per chunk row: big enough that a download is few store reads, small
/// enough that a row is an ordinary CQL cell and an upload buffers little.
pub const CHUNK_SIZE: u32 = 512 * 1024;

/// What a file is, as the Downloads page shows it, and how its bytes are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    pub id: Uuid,
    pub env: Environment,
    pub product_id: Uuid,
    pub title: String,
    pub file_name: String,
    pub version: String,
    /// stable, beta or hotfix.
    pub channel: String,
    pub released: NaiveDate,
    pub size: u64,
    pub uploaded_at: DateTime<Utc>,
    /// Hex SHA-256 of the bytes, computed while the upload streamed in; shown to
    /// customers so they can check what they downloaded (empty for files uploaded
    /// before it was kept).
    #[serde(default)]
    pub sha256: String,
    /// How many chunk rows hold the bytes (0 in descriptions of the previous
    /// release, whose bytes were a file on disk).
    #[serde(default)]
    pub chunks: u32,
    /// Bytes per chunk (every chunk but the last is full).
    #[serde(default)]
    pub chunk_size: u32,
}

/// How many chunks of `chunk_size` hold `size` bytes.
pub fn chunk_count(size: u64, chunk_size: u32) -> u32 {
    size.div_ceil(u64::from(chunk_size.max(1))) as u32
}

/// Collects streamed bytes into full chunks: push what arrives, take each full
/// chunk as it completes, and the rest at the end. Holds at most one chunk.
#[derive(Debug)]
pub struct Chunker {
    size: usize,
    buf: Vec<u8>,
    next_index: u32,
}

impl Chunker {
    /// A chunker cutting chunks of `size` bytes.
    pub fn new(size: u32) -> Chunker {
        let size = size.max(1) as usize;
        Chunker {
            size,
            buf: Vec::with_capacity(size),
            next_index: 0,
        }
    }

    /// Adds bytes; returns the chunks they completed, with their index.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let room = self.size - self.buf.len();
            let take = room.min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == self.size {
                out.push(self.take());
            }
        }
        out
    }

    /// The last, partial chunk (none when the bytes ended on a chunk border).
    pub fn finish(mut self) -> Option<(u32, Vec<u8>)> {
        (!self.buf.is_empty()).then(|| self.take())
    }

    /// How many chunks were handed out so far.
    pub fn chunks(&self) -> u32 {
        self.next_index
    }

    fn take(&mut self) -> (u32, Vec<u8>) {
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(self.size));
        self.next_index += 1;
        (self.next_index - 1, full)
    }
}

/// One piece of a byte range: chunk `index`, bytes `from..to` of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub index: u32,
    pub from: usize,
    pub to: usize,
}

/// The pieces of chunks that hold bytes `start..=end` of a file cut into
/// `chunk_size` chunks, in order. `start > end` gives none.
pub fn pieces(start: u64, end: u64, chunk_size: u32) -> Vec<Piece> {
    let cs = u64::from(chunk_size.max(1));
    if start > end {
        return Vec::new();
    }
    (start / cs..=end / cs)
        .map(|i| {
            let base = i * cs;
            Piece {
                index: i as u32,
                from: (start.max(base) - base) as usize,
                to: (end.min(base + cs - 1) - base + 1) as usize,
            }
        })
        .collect()
}

/// A single `Range: bytes=…` header against a file of `size` bytes: the
/// inclusive byte range to send, `Ok(None)` for the whole file (no header, or
/// a form not supported: several ranges), `Err(())` when unsatisfiable.
#[allow(clippy::result_unit_err)]
pub fn byte_range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(s), Some(e)) if s <= e => (s, e.min(size.saturating_sub(1))),
        (Some(s), None) if b.is_empty() => (s, size.saturating_sub(1)),
        (None, Some(n)) if a.is_empty() && n > 0 => {
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        _ => return Err(()),
    };
    if size == 0 || range.0 >= size {
        return Err(());
    }
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_cut_into_full_chunks_and_a_rest() {
        let mut c = Chunker::new(4);
        assert!(c.push(b"ab").is_empty());
        let got = c.push(b"cdefghij");
        assert_eq!(got, vec![(0, b"abcd".to_vec()), (1, b"efgh".to_vec())]);
        assert_eq!(c.chunks(), 2);
        assert_eq!(c.finish(), Some((2, b"ij".to_vec())));
        let mut even = Chunker::new(2);
        assert_eq!(even.push(b"ab").len(), 1);
        assert_eq!(even.finish(), None);
        assert_eq!(chunk_count(10, 4), 3);
        assert_eq!(chunk_count(8, 4), 2);
        assert_eq!(chunk_count(0, 4), 0);
        // 1.3 MiB in 512 KiB chunks: three rows.
        assert_eq!(chunk_count(1_363_149, CHUNK_SIZE), 3);
    }

    #[test]
    fn a_range_maps_onto_chunk_pieces() {
        let p = |index, from, to| Piece { index, from, to };
        assert_eq!(pieces(0, 9, 4), vec![p(0, 0, 4), p(1, 0, 4), p(2, 0, 2)]);
        assert_eq!(pieces(5, 6, 4), vec![p(1, 1, 3)]);
        assert_eq!(pieces(3, 4, 4), vec![p(0, 3, 4), p(1, 0, 1)]);
        assert_eq!(pieces(5, 4, 4), vec![]);
    }

    #[test]
    fn range_headers_are_read_or_refused() {
        for (h, want) in [
            (None, Ok(None)),
            (Some("bytes=100-199"), Ok(Some((100, 199)))),
            (Some("bytes=100-"), Ok(Some((100, 999)))),
            (Some("bytes=-10"), Ok(Some((990, 999)))),
            (Some("bytes=900-5000"), Ok(Some((900, 999)))),
            (Some("bytes=0-1,5-6"), Ok(None)),
            (Some("items=1-2"), Ok(None)),
            (Some("bytes=1000-"), Err(())),
            (Some("bytes=5-1"), Err(())),
            (Some("bytes=x-1"), Err(())),
            (Some("bytes=-0"), Err(())),
        ] {
            assert_eq!(byte_range(h, 1000), want, "{h:?}");
        }
    }
}
