//! The process table: every request in flight, in shards that requests never share.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use crate::clock::{self, Nanos};
use crate::current::RequestHandle;
use crate::entry::{Entry, Start, View};
use crate::redact::Redaction;
use crate::snapshot::{Direction, EntrySnapshot, Snapshot};

/// Slots per page of a shard. A snapshot holds a shard's lock for one page at a time, so
/// this bounds how long a request can wait behind a snapshot (a few microseconds).
const PAGE: usize = 1024;

/// Ids are handed to threads in blocks, so threads do not contend on one counter.
const ID_BLOCK: u64 = 64;

static NEXT_ID_BLOCK: AtomicU64 = AtomicU64::new(1);
static NEXT_THREAD_SEED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The next id to hand out on this thread and the end of its block.
    static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    /// Which shard this thread uses (modulo the shard count); `usize::MAX` until first use.
    static SEED: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// A process-unique request id.
pub(crate) fn next_id() -> u64 {
    IDS.try_with(|ids| {
        let (mut next, mut end) = ids.get();
        if next == end {
            next = NEXT_ID_BLOCK.fetch_add(ID_BLOCK, Relaxed);
            end = next + ID_BLOCK;
        }
        ids.set((next + 1, end));
        next
    })
    // A thread being torn down still gets a unique id, just a slower one.
    .unwrap_or_else(|_| NEXT_ID_BLOCK.fetch_add(ID_BLOCK, Relaxed))
}

fn thread_seed() -> usize {
    SEED.try_with(|seed| {
        let mut value = seed.get();
        if value == usize::MAX {
            value = NEXT_THREAD_SEED.fetch_add(1, Relaxed);
            seed.set(value);
        }
        value
    })
    .unwrap_or(0)
}

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
    shards: Box<[Arc<Shard>]>,
    shared: Arc<Shared>,
}

/// Settings every shard sees.
pub(crate) struct Shared {
    pub(crate) history_limit: u16,
    pub(crate) not_reading_after: Nanos,
    pub(crate) redaction: Redaction,
}

/// One shard: a slab of entries behind a mutex. Threads are spread over shards, so the
/// mutex is almost never contended; it is cache-line aligned so shards do not share lines.
#[repr(align(128))]
pub(crate) struct Shard {
    slab: Mutex<Slab>,
}

struct Slab {
    pages: Vec<Box<[Option<Arc<Entry>>]>>,
    free: Vec<u32>,
    next: u32,
    len: usize,
    inbound: usize,
    totals: Totals,
}

/// How many requests a table has seen end, by the way they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Totals {
    /// Requests that started.
    pub started: u64,
    /// Ended with the response complete (body at end of stream, or a response without body).
    pub completed: u64,
    /// The service returned an error instead of a response.
    pub failed: u64,
    /// The response body returned an error.
    pub body_failed: u64,
    /// The response future or body was dropped before the end: client went away, timeout,
    /// panic, or the caller dropped the response.
    pub dropped_early: u64,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    Completed,
    Failed,
    BodyFailed,
    DroppedEarly,
}

impl Slab {
    fn slot(&mut self, index: u32) -> Option<&mut Option<Arc<Entry>>> {
        let index = index as usize;
        self.pages.get_mut(index / PAGE)?.get_mut(index % PAGE)
    }

    fn insert(&mut self, entry: Arc<Entry>) -> u32 {
        let inbound = entry.direction == Direction::Inbound;
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = self.next;
                self.next += 1;
                if index as usize / PAGE >= self.pages.len() {
                    self.pages.push(vec![None; PAGE].into_boxed_slice());
                }
                index
            }
        };
        if let Some(slot) = self.slot(index) {
            *slot = Some(entry);
        }
        self.len += 1;
        self.inbound += usize::from(inbound);
        self.totals.started += 1;
        index
    }

    fn remove(&mut self, index: u32, id: u64, ending: Ending) -> Option<Arc<Entry>> {
        let slot = self.slot(index)?;
        if slot.as_ref().is_none_or(|entry| entry.id != id) {
            return None;
        }
        let entry = slot.take()?;
        self.free.push(index);
        self.len -= 1;
        self.inbound -= usize::from(entry.direction == Direction::Inbound);
        let totals = &mut self.totals;
        match ending {
            Ending::Completed => totals.completed += 1,
            Ending::Failed => totals.failed += 1,
            Ending::BodyFailed => totals.body_failed += 1,
            Ending::DroppedEarly => totals.dropped_early += 1,
        }
        Some(entry)
    }
}

impl Shard {
    fn new() -> Shard {
        Shard {
            slab: Mutex::new(Slab {
                pages: Vec::new(),
                free: Vec::new(),
                next: 0,
                len: 0,
                inbound: 0,
                totals: Totals::default(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slab> {
        self.slab
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remove(&self, index: u32, id: u64, ending: Ending) {
        let removed = self.lock().remove(index, id, ending);
        // The entry (maybe its last reference) is freed outside the lock.
        drop(removed);
    }

    /// Calls `f` on every entry, one page under the lock at a time.
    fn for_each_page(&self, mut f: impl FnMut(&Arc<Entry>)) {
        let mut page = 0;
        loop {
            let slab = self.lock();
            let Some(slots) = slab.pages.get(page) else {
                break;
            };
            slots.iter().flatten().for_each(&mut f);
            drop(slab);
            page += 1;
        }
    }
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

    fn shard(&self) -> &Arc<Shard> {
        let shards = &self.inner.shards;
        // The shard count is a power of two.
        &shards[thread_seed() & (shards.len() - 1)]
    }

    pub(crate) fn history_limit(&self) -> u16 {
        self.inner.shared.history_limit
    }

    /// Puts a request in the table.
    pub(crate) fn register(&self, start: Start<'_>) -> Tracked {
        let entry = Arc::new(Entry::new(start, clock::now()));
        let id = entry.id;
        let shard = self.shard();
        let slot = shard.lock().insert(entry.clone());
        Tracked {
            shard: shard.clone(),
            slot,
            id,
            entry: Some(entry),
            parent: None,
            open: true,
        }
    }

    fn view(&self) -> View<'_> {
        let shared = &self.inner.shared;
        View {
            now: clock::now(),
            not_reading_after: shared.not_reading_after,
            sensitive: &shared.redaction,
        }
    }

    /// Every entry, oldest first.
    fn entries(&self) -> Vec<Arc<Entry>> {
        let mut entries = Vec::with_capacity(self.len());
        for shard in self.inner.shards.iter() {
            shard.for_each_page(|entry| entries.push(entry.clone()));
        }
        entries.sort_unstable_by_key(|entry| (entry.start, entry.id));
        entries
    }

    /// Owned copies of every request in flight, oldest first, each with its status history.
    ///
    /// Requests keep flowing while the snapshot is taken: the table is copied one page of a
    /// shard at a time and formatted outside every lock.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_with(true)
    }

    pub(crate) fn snapshot_with(&self, history: bool) -> Snapshot {
        let entries = self.entries();
        let view = self.view();
        Snapshot {
            taken_at: clock::wall(view.now),
            pid: std::process::id(),
            uptime: clock::uptime(),
            entries: entries
                .iter()
                .map(|entry| entry.snapshot(&view, history))
                .collect(),
        }
    }

    fn find(&self, id: u64) -> Option<Arc<Entry>> {
        let mut found = None;
        for shard in self.inner.shards.iter() {
            shard.for_each_page(|entry| {
                if entry.id == id {
                    found = Some(entry.clone());
                }
            });
            if found.is_some() {
                break;
            }
        }
        found
    }

    /// One request with its full status history, if it is in flight.
    pub fn get(&self, id: u64) -> Option<EntrySnapshot> {
        let entry = self.find(id)?;
        Some(entry.snapshot(&self.view(), true))
    }

    /// A handle on a request in flight, to set its status or attributes from elsewhere.
    pub fn handle(&self, id: u64) -> Option<RequestHandle> {
        self.find(id).map(RequestHandle::new)
    }

    /// How many requests are in flight.
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|shard| shard.lock().len).sum()
    }

    /// Whether no request is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many requests are in flight in one direction.
    pub fn count(&self, direction: Direction) -> usize {
        let inbound: usize = self
            .inner
            .shards
            .iter()
            .map(|shard| shard.lock().inbound)
            .sum();
        match direction {
            Direction::Inbound => inbound,
            Direction::Outbound => self.len().saturating_sub(inbound),
        }
    }

    /// How many requests have started and how those that ended, ended.
    pub fn totals(&self) -> Totals {
        let mut sum = Totals::default();
        for shard in self.inner.shards.iter() {
            let totals = shard.lock().totals;
            sum.started += totals.started;
            sum.completed += totals.completed;
            sum.failed += totals.failed;
            sum.body_failed += totals.body_failed;
            sum.dropped_early += totals.dropped_early;
        }
        sum
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

/// Settings for a [`Table`].
///
/// ```
/// # use inflight_core as inflight;
/// use std::time::Duration;
///
/// let table = inflight::Table::builder()
///     .history_limit(16)
///     .not_reading_after(Duration::from_millis(500))
///     .sensitive_param("tenant")
///     .build();
/// # let _ = table;
/// ```
#[derive(Clone, Debug)]
pub struct TableBuilder {
    history_limit: u16,
    not_reading_after: Duration,
    shards: Option<usize>,
    redaction: Redaction,
}

impl Default for TableBuilder {
    fn default() -> Self {
        TableBuilder {
            history_limit: 64,
            not_reading_after: Duration::from_secs(1),
            shards: None,
            redaction: Redaction::default(),
        }
    }
}

impl TableBuilder {
    /// How many status transitions each request keeps (default 64). Older ones are
    /// dropped and counted in [`EntrySnapshot::history_dropped`].
    pub fn history_limit(mut self, limit: u16) -> Self {
        self.history_limit = limit;
        self
    }

    /// How long a response body must go unpolled after handing out a frame before the
    /// request shows `client not reading` (inbound) or `caller not reading` (outbound).
    /// Default one second.
    pub fn not_reading_after(mut self, after: Duration) -> Self {
        self.not_reading_after = after;
        self
    }

    /// Redacts the values of this query parameter too, besides
    /// [`DEFAULT_SENSITIVE_PARAMS`](crate::DEFAULT_SENSITIVE_PARAMS).
    pub fn sensitive_param(mut self, name: &str) -> Self {
        self.redaction.add(name);
        self
    }

    /// How many shards to spread requests over (rounded up to a power of two). The
    /// default is four per CPU, at least 8.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// The table.
    pub fn build(self) -> Table {
        clock::init();
        let shards = self
            .shards
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(8, |n| n.get() * 4))
            .clamp(1, 1 << 16)
            .next_power_of_two();
        let shared = Arc::new(Shared {
            history_limit: self.history_limit,
            not_reading_after: u64::try_from(self.not_reading_after.as_nanos()).unwrap_or(u64::MAX),
            redaction: self.redaction,
        });
        Table {
            inner: Arc::new(TableInner {
                shards: (0..shards.max(8)).map(|_| Arc::new(Shard::new())).collect(),
                shared,
            }),
        }
    }
}

/// A request's place in the table, held by the layer's future and then by the response
/// body. Dropping it removes the request as ended early; the layers call
/// [`finish`](Tracked::finish) when they know how it ended.
pub(crate) struct Tracked {
    shard: Arc<Shard>,
    slot: u32,
    id: u64,
    /// The entry; moved into the thread-local "current request" while the request's own
    /// future or body is polled (see `current::enter`).
    pub(crate) entry: Option<Arc<Entry>>,
    /// For an outbound call made while serving an inbound request: that request.
    parent: Option<Arc<Entry>>,
    open: bool,
}

impl Tracked {
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
        if !std::mem::replace(&mut self.open, false) {
            return;
        }
        self.shard.remove(self.slot, self.id, ending);
        if let Some(parent) = self.parent.take() {
            parent.child_finished(self.id, clock::now());
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.end(Ending::DroppedEarly);
    }
}
