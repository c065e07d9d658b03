//! A shard's ring of kept records: a fixed number of 128-byte records, written under the
//! shard's lock by the request that ends (no allocation: the ring is made outside the
//! lock the first time a record is kept), copied out a chunk at a time by readers. A ring
//! of `n` records takes `128 × n` bytes.

use super::record::Record;

/// Records copied per lock hold by a reader.
const CHUNK: usize = 256;

pub(crate) struct Ring {
    /// A record of id 0 is an empty slot (ids start at 1).
    records: Box<[Record]>,
    /// Where the next record goes.
    next: usize,
}

impl Ring {
    /// A ring of `capacity` records (at least one), made outside the lock.
    pub(crate) fn new(capacity: usize) -> Ring {
        Ring {
            records: vec![Record::EMPTY; capacity.max(1)].into_boxed_slice(),
            next: 0,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, record: Record) {
        let at = self.next;
        if let Some(slot) = self.records.get_mut(at) {
            *slot = record;
        }
        self.next = (at + 1) % self.records.len();
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Copies the records from `from` on into `out`, one chunk at most; returns where to
    /// go on, or `None` at the end.
    pub(crate) fn copy_chunk(&self, from: usize, out: &mut Vec<Record>) -> Option<usize> {
        let end = (from + CHUNK).min(self.records.len());
        out.extend(
            self.records
                .get(from..end)?
                .iter()
                .filter(|record| record.id != 0)
                .copied(),
        );
        (end < self.records.len()).then_some(end)
    }
}

#[cfg(test)]
impl Ring {
    pub(crate) fn records_for_test(&self) -> &[Record] {
        &self.records
    }
}
