//! The process table: every request in flight, in shards that requests rarely share.
//!
//! - `id`: what a request id says about where the request lives.
//! - `shard`: a plain mutex over the slots, and the counts beside it.
//! - `slots`: pages of slots, free slots in order, the queue of ended requests, the ring
//!   of kept records.
//! - `counts`: requests in flight and how they ended, kept as they come and go.
//! - `tracked`: a request's hold on its slot, what it leaves when it ends, and spare
//!   entries for reuse.
//! - `kept`: reading what ended requests left (see `crate::ended`).
//! - `finished`: how requests end, and the totals.
//! - `subscription`: the stream of ended requests, read in place.
//! - `control`: terminate and cancel by id.
//! - `builder`: settings.

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

mod builder;
mod control;
mod counts;
mod finished;
mod id;
mod kept;
mod shard;
mod slots;
mod subscription;
mod tracked;

pub use builder::TableBuilder;
pub use finished::{ControlError, Ending, Finished, Totals};
pub use subscription::{FinishedRequest, Subscription};
pub(crate) use tracked::Tracked;

use crate::clock::{self, Nanos};
use crate::current::RequestHandle;
use crate::ended::Recorder;
use crate::entry::{Entry, Start, View};
use crate::redact::Redaction;
use crate::snapshot::{Direction, EntrySnapshot, Snapshot};
use crate::sync::Ordering::{Acquire, Relaxed};
use crate::sync::{Arc, AtomicUsize, Mutex, MutexGuard};
use id::{Place, thread_seed};
use shard::Shard;
use slots::{Full, NewPage, Slots};

/// The table of requests in flight.
///
/// A `Table` is a cheap handle: clones share the same requests. Layers use
/// [`global()`](crate::global) unless given another table; tests and libraries that want
/// their own view use private tables.
///
/// ```
/// # use inflight_core as inflight;
/// let table = inflight::Table::new();
/// let layer = inflight::InFlightLayer::with_table(table.clone());
/// # let _ = layer;
/// assert_eq!(table.len(), 0);
/// ```
#[derive(Clone)]
pub struct Table {
    inner: Arc<TableInner>,
}

struct TableInner {
    /// The table owns its shards; each request holds a counted reference to its own.
    shards: Box<[Arc<Shard>]>,
    shared: std::sync::Arc<Shared>,
    /// Serializes opening and closing subscriptions.
    subscribers: Mutex<()>,
    subscriptions: AtomicUsize,
}

/// Settings every shard sees, and the record of ended requests.
pub(crate) struct Shared {
    pub(crate) history_limit: u16,
    pub(crate) not_reading_after: Nanos,
    pub(crate) redaction: Redaction,
    pub(crate) recorder: Recorder,
}

impl Table {
    /// A new, empty table with default settings.
    pub fn new() -> Table {
        Table::builder().build()
    }

    /// A builder for a table with other settings.
    pub fn builder() -> TableBuilder {
        TableBuilder::default()
    }

    pub(crate) fn history_limit(&self) -> u16 {
        self.inner.shared.history_limit
    }

    /// Puts a request in the table: in this thread's shard or, while something holds
    /// that one (a snapshot copying a chunk), in any other that is free.
    #[inline]
    pub(crate) fn register(&self, start: Start<'_>) -> Tracked {
        let mut entry = tracked::new_entry(start, clock::now());
        let shards = &self.inner.shards;
        // The shard count is a power of two.
        let mask = shards.len() - 1;
        let home = thread_seed() & mask;
        let mut index = home;
        let mut slots = match shards[home].try_lock() {
            Some(slots) => slots,
            None => {
                let (other, slots) = self.lock_other_shard(home);
                index = other;
                slots
            }
        };
        let mut exhausted = 0;
        loop {
            let shard = &shards[index];
            match slots.insert(index, &mut entry, &shard.counts) {
                Ok(place) => {
                    drop(slots);
                    return Tracked::new(shard.clone(), place.id(), entry);
                }
                Err(Full::NeedPage { number, generation }) => {
                    drop(slots);
                    let page = NewPage::allocate(number, generation);
                    slots = shard.lock();
                    if let Some(unused) = slots.install(page) {
                        drop(slots);
                        drop(unused);
                        slots = shard.lock();
                    }
                }
                Err(Full::Exhausted) => {
                    drop(slots);
                    exhausted += 1;
                    if exhausted == shards.len() {
                        return Tracked::untracked();
                    }
                    index = (index + 1) & mask;
                    slots = shards[index].lock();
                }
            }
        }
    }

    #[cold]
    fn lock_other_shard(&self, home: usize) -> (usize, MutexGuard<'_, Slots>) {
        let shards = &self.inner.shards;
        let mask = shards.len() - 1;
        for step in 1..shards.len() {
            let index = (home + step) & mask;
            if let Some(slots) = shards[index].try_lock() {
                return (index, slots);
            }
        }
        (home, shards[home].lock())
    }

    pub(crate) fn view(&self) -> View<'_> {
        let shared = &self.inner.shared;
        View {
            now: clock::now(),
            not_reading_after: shared.not_reading_after,
            sensitive: &shared.redaction,
        }
    }

    /// The entry `id` names, if that request is in flight: one shard lock, no search.
    fn find(&self, id: u64) -> Option<Arc<Entry>> {
        let place = Place::of(id)?;
        let shard = self.inner.shards.get(place.shard)?;
        let slots = shard.lock();
        slots.get(place).cloned()
    }

    /// Entries for which `keep` holds, oldest first. Entries are copied a chunk of slots
    /// under the lock at a time, into room reserved outside it: a chunk stops early when
    /// the room is used up, and goes on once more is reserved.
    pub(crate) fn entries_where(&self, keep: impl Fn(&Entry) -> bool) -> Vec<Arc<Entry>> {
        let mut entries: Vec<Arc<Entry>> = Vec::with_capacity(self.len() + 64);
        for shard in self.inner.shards.iter() {
            let mut from = Some(0);
            while let Some(at) = from {
                if entries.len() == entries.capacity() {
                    entries.reserve(entries.len() / 2 + 64);
                }
                from = shard.read_lock().visit_chunk(at, |entry| {
                    if entries.len() == entries.capacity() {
                        return false;
                    }
                    if keep(entry) {
                        entries.push(entry.clone());
                    }
                    true
                });
            }
        }
        entries.sort_unstable_by_key(|entry| (entry.start, entry.id()));
        entries
    }

    /// Owned copies of every request in flight, oldest first, each with its status history.
    ///
    /// Requests keep flowing while the snapshot is taken: the table is copied one chunk of
    /// a shard at a time and formatted outside every lock.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_of(self.entries_where(|_| true), true)
    }

    /// Like [`snapshot`](Table::snapshot) without status histories: what the text dump
    /// and request lists need, and cheaper.
    pub fn snapshot_summary(&self) -> Snapshot {
        self.snapshot_of(self.entries_where(|_| true), false)
    }

    /// Like [`snapshot`](Table::snapshot), only for requests in flight for at least
    /// `min_age`. Cheap when few are: the others are skipped before anything is copied.
    pub fn snapshot_older_than(&self, min_age: Duration) -> Snapshot {
        let now = clock::now();
        let min_age = u64::try_from(min_age.as_nanos()).unwrap_or(u64::MAX);
        let entries = self.entries_where(|entry| now.saturating_sub(entry.start) >= min_age);
        self.snapshot_of(entries, true)
    }

    /// How long the oldest request in flight in `direction` has been, if any. This walks
    /// the table: call it when a rule needs it, not on every tick.
    pub fn oldest(&self, direction: Direction) -> Option<Duration> {
        if self.count(direction) == 0 {
            return None;
        }
        // A walk that keeps the earliest start: nothing copied, nothing sorted.
        let mut oldest: Option<Nanos> = None;
        for shard in self.inner.shards.iter() {
            let mut from = Some(0);
            while let Some(at) = from {
                from = shard.read_lock().visit_chunk(at, |entry| {
                    if entry.direction == direction {
                        oldest = Some(oldest.map_or(entry.start, |start| start.min(entry.start)));
                    }
                    true
                });
            }
        }
        Some(clock::between(oldest?, clock::now()))
    }

    fn snapshot_of(&self, entries: Vec<Arc<Entry>>, history: bool) -> Snapshot {
        let view = self.view();
        let mut entries: Vec<EntrySnapshot> = entries
            .iter()
            .map(|entry| entry.snapshot(&view, history))
            .collect();
        // A request is older than its calls, so one in flight is in this list too.
        let requests: HashSet<u64> = entries
            .iter()
            .filter(|entry| entry.direction.has_children())
            .map(|entry| entry.id)
            .collect();
        for entry in &mut entries {
            entry.orphan = entry
                .parent
                .is_some_and(|parent| !requests.contains(&parent));
        }
        Snapshot {
            taken_at: clock::wall(view.now),
            pid: std::process::id(),
            uptime: clock::uptime(),
            entries,
        }
    }

    /// One request with its full status history, if it is in flight.
    pub fn get(&self, id: u64) -> Option<EntrySnapshot> {
        let entry = self.find(id)?;
        let mut snapshot = entry.snapshot(&self.view(), true);
        snapshot.orphan = entry.parent != 0 && self.find(entry.parent).is_none();
        Some(snapshot)
    }

    /// A handle on a request in flight, to set its status or attributes from elsewhere.
    pub fn handle(&self, id: u64) -> Option<RequestHandle> {
        self.find(id).map(RequestHandle::new)
    }

    /// How many requests are in flight (kept as they come and go, not counted).
    pub fn len(&self) -> usize {
        Direction::ALL.iter().map(|d| self.count(*d)).sum()
    }

    /// Whether no request is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many requests are in flight in one direction.
    pub fn count(&self, direction: Direction) -> usize {
        let d = counts::direction_index(direction);
        self.inner
            .shards
            .iter()
            .map(|shard| shard.counts.in_flight[d].load(Relaxed))
            .fold(0usize, usize::wrapping_add)
    }

    /// How many requests have started and how those that ended, ended.
    pub fn totals(&self) -> Totals {
        let mut sum = self.totals_of(Direction::Inbound);
        sum.add(&self.totals_of(Direction::Outbound));
        sum.add(&self.totals_of(Direction::Work));
        sum
    }

    /// Like [`totals`](Table::totals), for one direction.
    pub fn totals_of(&self, direction: Direction) -> Totals {
        let d = counts::direction_index(direction);
        let mut counters = [0u64; 6];
        for shard in self.inner.shards.iter() {
            let totals = &shard.counts.totals[d];
            // Endings first, with Acquire: a request's start is counted before its end
            // (Release), so the starts read next include those of every end read, and no
            // reading shows more requests ended than started.
            for (sum, counter) in counters[1..].iter_mut().zip(&totals[1..]) {
                *sum += counter.load(Acquire);
            }
            counters[0] += totals[0].load(Relaxed);
        }
        Totals::from_counters(counters)
    }

    /// How many ended requests were dropped because no subscriber drained them in time.
    pub fn finished_dropped(&self) -> u64 {
        self.inner
            .shards
            .iter()
            .map(|shard| shard.counts.finished_dropped.load(Relaxed))
            .sum()
    }

    /// Whether two handles share the same table.
    pub fn same_as(&self, other: &Table) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Default for Table {
    fn default() -> Self {
        Table::new()
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("shards", &self.inner.shards.len())
            .field("len", &self.len())
            .finish()
    }
}

/// The default table, used by layers created with `new()` and by
/// [`dump_on_signal`](crate::dump_on_signal).
pub fn global() -> &'static Table {
    static GLOBAL: OnceLock<Table> = OnceLock::new();
    GLOBAL.get_or_init(Table::new)
}

#[cfg(all(test, loom))]
mod loom;
#[cfg(test)]
mod tests;
