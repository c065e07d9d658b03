//! One shard of the table: slots in pages behind a plain mutex, counts in atomics beside
//! it.
//!
//! A request takes the lock twice (to take a slot, and to give it back) and allocates
//! nothing while holding it: pages are allocated before the lock is taken again, the
//! queue of ended requests and the spare entries have their room reserved by the
//! subscription that wants them, and whatever must be freed is carried out of the lock
//! first. Readers (snapshots, the dump) hold it for one chunk of slots at a time.

use super::counts::Counts;
use super::slots::Slots;
use crate::sync::{AtomicBool, Mutex, MutexGuard, Ordering};

/// Cache-line aligned so shards do not share lines.
#[repr(align(128))]
pub(crate) struct Shard {
    slots: Mutex<Slots>,
    /// Whether ended requests go to the finished queue (a subscription is open). Only a
    /// hint that the end time is worth reading: the queue's room, reserved and taken back
    /// under the lock, decides whether a request is queued, so nothing is read through
    /// this flag and Relaxed loads do.
    pub(crate) collecting: AtomicBool,
    /// Written under the lock (a load and a store), read without it: in-flight counts are
    /// gauges, read Relaxed; totals are ordered (see [`bump`]).
    pub(crate) counts: Counts,
}

impl Shard {
    pub(crate) fn new() -> Shard {
        Shard {
            slots: Mutex::new(Slots::new()),
            collecting: AtomicBool::new(false),
            counts: Counts::default(),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, Slots> {
        // Nothing panics while holding it, but never turn poison into a panic.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[inline]
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, Slots>> {
        match self.slots.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Empties the shard of a dropped table for the next table; a request of the dropped
    /// table that ends later finds its slot's generation moved on and leaves it alone.
    pub(crate) fn reset(&self) {
        self.collecting.store(false, Ordering::Relaxed);
        let (entries, finished, spares) = {
            let mut slots = self.lock();
            let entries = slots.clear();
            (
                entries,
                std::mem::take(&mut slots.finished),
                std::mem::take(&mut slots.spares),
            )
        };
        drop((entries, finished, spares));
        let counts = &self.counts;
        for d in 0..2 {
            counts.in_flight[d].store(0, Ordering::Relaxed);
            for total in &counts.totals[d] {
                total.store(0, Ordering::Relaxed);
            }
        }
        counts.finished_dropped.store(0, Ordering::Relaxed);
    }
}

/// Shards of dropped tables, emptied, for the next tables.
#[cfg(not(loom))]
static SPARE_SHARDS: std::sync::Mutex<Vec<&'static Shard>> = std::sync::Mutex::new(Vec::new());

/// An empty shard: a spare one, or a new one that is never freed.
#[cfg(not(loom))]
pub(super) fn take() -> &'static Shard {
    let spare = SPARE_SHARDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .pop();
    spare.unwrap_or_else(|| Box::leak(Box::new(Shard::new())))
}

/// Under `loom` a shard's locks and atomics belong to one explored execution, so no
/// shard outlives its table's execution in a pool: each table gets new ones.
#[cfg(loom)]
pub(super) fn take() -> &'static Shard {
    Box::leak(Box::new(Shard::new()))
}

/// Empties the shards of a dropped table and keeps them for the next tables.
pub(super) fn give_back(shards: &[&'static Shard]) {
    for shard in shards {
        shard.reset();
    }
    #[cfg(not(loom))]
    SPARE_SHARDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .extend(shards.iter().copied());
}
