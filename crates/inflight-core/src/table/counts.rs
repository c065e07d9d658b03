//! Counts kept beside each shard: requests in flight and how requests ended, per
//! direction. Only the holder of the shard's lock writes them; anyone reads them.

use crate::snapshot::Direction;
use crate::sync::{AtomicU64, AtomicUsize, Ordering};

/// Counts kept as requests come and go, so nobody has to count the table.
#[derive(Default)]
pub(crate) struct Counts {
    /// Requests in flight, per direction.
    pub(crate) in_flight: [AtomicUsize; Direction::ALL.len()],
    /// Started, completed, failed, body failed, dropped early, terminated; per direction.
    pub(crate) totals: [[AtomicU64; 6]; Direction::ALL.len()],
    /// Ended requests the finished queue had no room for.
    pub(crate) finished_dropped: AtomicU64,
    /// Ended requests kept as records.
    pub(crate) kept: AtomicU64,
}

/// Only the lock holder writes, so a load and a store do (no locked instruction).
///
/// Release: a reader that loads an ending count with Acquire then finds the starts of
/// those requests counted (see `Table::totals_of`).
#[inline]
pub(super) fn bump(counter: &AtomicU64) {
    #[cfg(not(loom))]
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Release);
    // One step under `loom`: its search forgets a reader's load of the counter once the
    // writer has loaded it too, and would not put the reader between load and store.
    #[cfg(loom)]
    counter.fetch_add(1, Ordering::Release);
}

/// The in-flight count, one up or down; written like [`bump`].
#[inline]
pub(super) fn step_in_flight(counter: &AtomicUsize, up: bool) {
    #[cfg(not(loom))]
    {
        let count = counter.load(Ordering::Relaxed);
        counter.store(if up { count + 1 } else { count - 1 }, Ordering::Relaxed);
    }
    #[cfg(loom)]
    if up {
        counter.fetch_add(1, Ordering::Relaxed);
    } else {
        counter.fetch_sub(1, Ordering::Relaxed);
    }
}

#[inline]
pub(super) fn direction_index(direction: Direction) -> usize {
    direction as usize
}
