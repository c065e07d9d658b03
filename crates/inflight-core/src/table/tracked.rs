//! A request's hold on its place in the table, what it leaves when it ends, and the
//! entries of ended requests kept for the next ones.

use std::cell::RefCell;

use super::counts::bump;
use super::finished::Ending;
use super::finished::Finished;
use super::id::Place;
use super::shard::{Deferred, Shard};
use crate::clock::{self, Nanos};
use crate::ended::{Record, Ring};
use crate::entry::{Entry, Start, View};
use crate::sync::{Arc, Ordering};

/// A request's place in the table, held by the layer's future and then by the response
/// body. Dropping it removes the request as ended early; the layers call
/// [`finish`](Tracked::finish) when they know how it ended.
pub(crate) struct Tracked {
    /// `None` for a request the table had no room for (it is not tracked).
    shard: Option<Arc<Shard>>,
    id: u64,
    /// The entry; moved into the thread-local "current request" while the request's own
    /// future or body is polled (see `current::enter`).
    pub(crate) entry: Option<Arc<Entry>>,
    /// For an outbound call made while serving an inbound request: that request.
    parent: Option<Arc<Entry>>,
}

impl Tracked {
    pub(crate) fn new(shard: Arc<Shard>, id: u64, entry: Arc<Entry>) -> Tracked {
        Tracked {
            shard: Some(shard),
            id,
            entry: Some(entry),
            parent: None,
        }
    }

    /// A request the table had no room for.
    pub(crate) fn untracked() -> Tracked {
        Tracked {
            shard: None,
            id: 0,
            entry: None,
            parent: None,
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn set_parent(&mut self, parent: Arc<Entry>) {
        self.parent = Some(parent);
    }

    pub(crate) fn finish(mut self, ending: Ending) {
        self.end(ending);
    }

    fn end(&mut self, ending: Ending) {
        let Some(shard) = self.shard.take() else {
            return;
        };
        let Some(place) = Place::of(self.id) else {
            return;
        };
        let now = clock::now();
        let shared = &*shard.shared;
        let recorder = &shared.recorder;
        // Everything the end leaves is made here, before the lock: the series' numbers,
        // and for a kept request its record (and whole copy, if it did not complete).
        let leaving = self
            .entry
            .as_deref()
            .map(|entry| recorder.leaving(entry, ending, now));
        let mut record: Option<Record> = None;
        let mut detail = None;
        if let (Some(entry), Some(leaving)) = (self.entry.as_deref(), &leaving)
            && let Some(family) = leaving.kept
        {
            let view = View {
                now,
                not_reading_after: shared.not_reading_after,
                sensitive: &shared.redaction,
            };
            detail = recorder.whole(entry, &view, ending, now);
            record = Some(recorder.record(entry, &view, ending, leaving, family, detail.is_some()));
        }
        let ring = if record.is_some() && !shard.ring_made.load(Ordering::Relaxed) {
            Some(Ring::new(recorder.ring_capacity()))
        } else {
            None
        };
        let collecting = shard.collecting.load(Ordering::Relaxed);
        let ended_at: Option<Nanos> = collecting.then_some(now);
        let mut slots = match shard.try_lock() {
            Some(slots) => slots,
            // A reader walks the shard: leave the removal to it rather than wait.
            None if shard.reader_holds() => {
                shard.defer(Deferred {
                    place,
                    ending,
                    ended_at,
                    series: leaving
                        .as_ref()
                        .map(|leaving| (leaving.series.number(), leaving.nanos)),
                    record,
                    ring,
                });
                self.after_removal(&shard, detail, now);
                return;
            }
            None => shard.lock(),
        };
        let removed = slots.remove(place, ending, ended_at, &shard.counts);
        let mut unused_ring = None;
        if removed.found
            && let Some(leaving) = &leaving
        {
            leaving.series.observe(shard.index, leaving.nanos);
            if let Some(record) = &record {
                if slots.ring.is_none() {
                    slots.ring = ring;
                    shard.ring_made.store(true, Ordering::Relaxed);
                } else {
                    unused_ring = ring;
                }
                if let Some(ring) = slots.ring.as_mut() {
                    ring.push(*record);
                    bump(&shard.counts.kept);
                }
            }
        }
        drop(slots);
        // Whatever the lock handed back is freed here, outside it.
        drop(unused_ring);
        drop(removed.entry);
        drop(removed.page);
        let detail = if removed.found { detail } else { None };
        self.after_removal(&shard, detail, now);
        if let Some(entry) = self.entry.take() {
            recycle(entry);
        }
    }

    /// What follows the removal, outside the shard's lock: the parent request learns its
    /// call is over, a whole copy is kept, the window moves on if it is time.
    fn after_removal(
        &mut self,
        shard: &Shard,
        detail: Option<std::sync::Arc<Finished>>,
        now: Nanos,
    ) {
        if let Some(parent) = self.parent.take() {
            parent.child_finished(self.id, now);
        }
        if let Some(detail) = detail {
            let evicted = shard.details().push(self.id, detail);
            drop(evicted);
        }
        shard.shared.recorder.tick(now);
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.end(Ending::DroppedEarly);
    }
}

/// Entries kept per thread for the next requests.
const SPARE_ENTRIES_PER_THREAD: usize = 64;

#[cfg(not(loom))]
thread_local! {
    /// Entries of ended requests that nothing else refers to, reused by the next
    /// requests of this thread: a request then costs no allocation at all.
    static SPARE_ENTRIES: RefCell<Vec<Arc<Entry>>> = const { RefCell::new(Vec::new()) };
}

// Per `loom` thread, dropped when it ends, so reuse is explored too.
#[cfg(loom)]
loom::thread_local! {
    static SPARE_ENTRIES: RefCell<Vec<Arc<Entry>>> = RefCell::new(Vec::new());
}

/// An entry for a new request: a spare one of this thread, or a new allocation. The
/// entry is always made by [`Entry::new`], the one place that lists its fields.
#[inline]
pub(crate) fn new_entry(start: Start<'_>, now: Nanos) -> Arc<Entry> {
    let spare = SPARE_ENTRIES
        .try_with(|spare| {
            spare
                .try_borrow_mut()
                .ok()
                .and_then(|mut spare| spare.pop())
        })
        .ok()
        .flatten();
    if let Some(mut entry) = spare
        && let Some(unique) = Arc::get_mut(&mut entry)
    {
        *unique = Entry::new(start, now);
        return entry;
    }
    Arc::new(Entry::new(start, now))
}

/// Keeps an ended request's entry for reuse if nothing else refers to it (no handle, no
/// snapshot, no subscriber).
#[inline]
fn recycle(entry: Arc<Entry>) {
    if Arc::strong_count(&entry) != 1 {
        return;
    }
    let _ = SPARE_ENTRIES.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut()
            && spare.len() < SPARE_ENTRIES_PER_THREAD
        {
            spare.push(entry);
        }
    });
}
