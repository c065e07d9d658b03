//! One shard of the table: slots in pages behind a plain mutex, counts in atomics beside
//! it, and what its requests leave when they end.
//!
//! A request takes the lock twice (to take a slot, and to give it back) and allocates
//! nothing while holding it: pages and the ring of kept records are made before the lock
//! is taken again, the queue of ended requests has its room reserved by the subscription
//! that wants it, and whatever must be freed is carried out of the lock first. Readers
//! (snapshots, the dump, reports) hold it for one chunk of slots or records at a time.
//!
//! A table owns its shards; a request holds a counted reference to its shard, so a shard
//! outlives its table until the last of its requests has ended.

use std::sync::Mutex as StdMutex;

use super::Shared;
use super::counts::Counts;
use super::slots::Slots;
use crate::ended::Details;
use crate::sync::{Arc, AtomicBool, Mutex, MutexGuard};

/// Cache-line aligned so shards do not share lines.
#[repr(align(128))]
pub(crate) struct Shard {
    slots: Mutex<Slots>,
    /// Its place in the table, which names the stripe of counts it writes.
    pub(crate) index: usize,
    /// Whether ended requests go to the finished queue (a subscription is open). Only a
    /// hint that the end time is worth reading: the queue's room, reserved and taken back
    /// under the lock, decides whether a request is queued, so nothing is read through
    /// this flag and Relaxed loads do.
    pub(crate) collecting: AtomicBool,
    /// Whether the ring of kept records is made (a hint, like `collecting`).
    pub(crate) ring_made: AtomicBool,
    /// Written under the lock (a load and a store), read without it: in-flight counts are
    /// gauges, read Relaxed; totals are ordered (see `counts::bump`).
    pub(crate) counts: Counts,
    /// The table's settings, numbering and sampling of ended requests.
    pub(crate) shared: std::sync::Arc<Shared>,
    /// The whole of the failed, terminated and dropped-early requests that ended here.
    /// Its own lock: only those requests and readers take it.
    pub(crate) details: StdMutex<Details>,
}

impl Shard {
    pub(crate) fn new(index: usize, shared: std::sync::Arc<Shared>) -> Arc<Shard> {
        let budget = shared.recorder.detail_budget();
        Arc::new(Shard {
            slots: Mutex::new(Slots::new()),
            index,
            collecting: AtomicBool::new(false),
            ring_made: AtomicBool::new(false),
            counts: Counts::default(),
            shared,
            details: StdMutex::new(Details::new(budget)),
        })
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

    pub(crate) fn details(&self) -> std::sync::MutexGuard<'_, Details> {
        self.details
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
