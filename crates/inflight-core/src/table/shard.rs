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
//!
//! **A request that ends never waits for a reader.** Readers hold the lock for a chunk at
//! a time and may be preempted while they do. A request that finds the lock held by a
//! reader leaves its removal in `deferred` (behind a lock of its own that nobody holds for
//! more than a push or a take) and goes on; whoever takes the shard's lock next applies
//! it, and the reader checks for one as it lets go:
//!
//! - reader: `readers += 1`, lock, read, apply what is pending, unlock, `readers -= 1`,
//!   then if `pending`, lock again (and so apply it);
//! - request: when the lock is taken and `readers > 0`, push, `pending = true`, then if
//!   `readers == 0` by now, take the lock (and so apply the removal) itself.
//!
//! A reader counts itself before it takes the lock, so a request that finds the lock
//! held by a reader sees it counted. Every step on `pending` and `readers` is
//! sequentially consistent: a request that still sees a reader pushed before that reader
//! counted itself out, so the reader's look after that sees the push
//! (`table/loom/ended.rs` explores both). A request that finds the lock held by another
//! request waits for it (a few instructions); only if a reader comes between can it wait
//! for that reader's chunk.

use std::sync::Mutex as StdMutex;

use super::Shared;
use super::counts::{Counts, bump};
use super::finished::Ending;
use super::id::Place;
use super::slots::Slots;
use crate::clock::Nanos;
use crate::ended::{Details, Record, Ring};
use crate::sync::Ordering::{Relaxed, SeqCst};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, MutexGuard};

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
    /// Readers holding the lock or waiting for it.
    readers: AtomicUsize,
    /// Whether removals wait in `deferred`.
    pending: AtomicBool,
    /// Removals of requests that ended while a reader held the lock.
    deferred: Mutex<Vec<Deferred>>,
}

/// A removal left for the next holder of the lock: everything [`Slots::remove`] and the
/// record of ended requests need, made by the request that ended.
pub(crate) struct Deferred {
    pub(crate) place: Place,
    pub(crate) ending: Ending,
    pub(crate) ended_at: Option<Nanos>,
    /// The series to count it in, and its duration.
    pub(crate) series: Option<(u16, u64)>,
    pub(crate) record: Option<Record>,
    /// The ring, made by the request if the shard had none.
    pub(crate) ring: Option<Ring>,
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
            readers: AtomicUsize::new(0),
            pending: AtomicBool::new(false),
            deferred: Mutex::new(Vec::new()),
        })
    }

    /// The lock, for a request or a short look: waits for it, then applies the removals
    /// left while a reader held it.
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, Slots> {
        // Nothing panics while holding it, but never turn poison into a panic.
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.apply_deferred(&mut slots);
        slots
    }

    #[inline]
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, Slots>> {
        let mut slots = match self.slots.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        self.apply_deferred(&mut slots);
        Some(slots)
    }

    /// The lock, for a reader that walks the shard a chunk at a time: requests that end
    /// meanwhile leave their removal instead of waiting (see the module docs).
    pub(crate) fn read_lock(&self) -> ReadGuard<'_> {
        self.readers.fetch_add(1, SeqCst);
        let slots = self.lock();
        ReadGuard {
            held: Held { shard: self, slots },
            _after: AfterRead(self),
        }
    }

    /// Whether a reader holds the lock or waits for it.
    #[inline]
    pub(crate) fn reader_holds(&self) -> bool {
        self.readers.load(SeqCst) != 0
    }

    /// Leaves a removal for the next holder of the lock; takes the lock itself (and so
    /// applies it) unless a reader holds it, which then applies it as it lets go.
    #[cold]
    pub(crate) fn defer(&self, removal: Deferred) {
        self.deferred
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(removal);
        self.pending.store(true, SeqCst);
        if self.readers.load(SeqCst) == 0 {
            drop(self.lock());
        }
    }

    /// Applies the removals left in `deferred`. Rare (a request ended while a reader held
    /// the lock), so what they free is freed here, under the lock.
    #[inline]
    fn apply_deferred(&self, slots: &mut Slots) {
        if !self.pending.load(Relaxed) || !self.pending.swap(false, SeqCst) {
            return;
        }
        self.apply_deferred_now(slots);
    }

    #[cold]
    fn apply_deferred_now(&self, slots: &mut Slots) {
        let removals = std::mem::take(
            &mut *self
                .deferred
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        let recorder = &self.shared.recorder;
        for removal in removals {
            let removed = slots.remove(
                removal.place,
                removal.ending,
                removal.ended_at,
                &self.counts,
            );
            if !removed.found {
                continue;
            }
            if let Some((number, nanos)) = removal.series
                && let Some(series) = recorder.series(number)
            {
                series.observe(self.index, nanos);
            }
            if let Some(record) = removal.record {
                if slots.ring.is_none() {
                    slots.ring = removal.ring;
                    self.ring_made.store(true, Relaxed);
                }
                if let Some(ring) = slots.ring.as_mut() {
                    ring.push(record);
                    bump(&self.counts.kept);
                }
            }
        }
    }

    pub(crate) fn details(&self) -> std::sync::MutexGuard<'_, Details> {
        self.details
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A reader's hold on a shard's lock (see [`Shard::read_lock`]). Fields drop in order:
/// the hold applies what is pending, the lock is let go, then the reader counts itself
/// out and looks for what was left meanwhile.
pub(crate) struct ReadGuard<'a> {
    held: Held<'a>,
    _after: AfterRead<'a>,
}

struct Held<'a> {
    shard: &'a Shard,
    slots: MutexGuard<'a, Slots>,
}

struct AfterRead<'a>(&'a Shard);

impl std::ops::Deref for ReadGuard<'_> {
    type Target = Slots;

    fn deref(&self) -> &Slots {
        &self.held.slots
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.shard.apply_deferred(&mut self.slots);
    }
}

impl Drop for AfterRead<'_> {
    fn drop(&mut self) {
        self.0.readers.fetch_sub(1, SeqCst);
        if self.0.pending.load(SeqCst) {
            drop(self.0.lock());
        }
    }
}
