//! The process table: every request in flight, in shards that requests never share.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use spin::mutex::{SpinMutex, SpinMutexGuard};

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
    shards: Box<[&'static Shard]>,
    shared: Arc<Shared>,
}

/// Settings every shard sees.
pub(crate) struct Shared {
    pub(crate) history_limit: u16,
    pub(crate) not_reading_after: Nanos,
    pub(crate) redaction: Redaction,
}

/// One shard: a slab of entries behind a lock. Threads are spread over shards, so the
/// lock is almost never contended; it is cache-line aligned so shards do not share lines.
///
/// The lock is a spin lock (with `yield_now` once spinning does not get it): a request
/// takes it twice, and unlocking it is a plain store where `std::sync::Mutex` needs a
/// locked instruction (about 10 ns per request here, see `benches/README.md`). The only
/// other holders are snapshots, one page at a time.
///
/// Shards live for the whole process and go back to a pool when their table is dropped,
/// so a request can hold `&'static Shard` instead of a reference-counted handle (two
/// locked instructions less per request).
#[repr(align(128))]
pub(crate) struct Shard {
    slab: SpinMutex<Slab>,
    /// Whether ended requests are kept for [`Table::drain_finished`].
    collect: AtomicBool,
    /// Requests waiting for the lock. A snapshot, which takes the lock page after page,
    /// lets them in between pages: a spin lock has no queue, and without this a request
    /// could wait for a whole snapshot (tens of milliseconds with a million entries).
    waiting: AtomicU32,
}

/// Shards of dropped tables, emptied, for the next tables.
static SPARE_SHARDS: Mutex<Vec<&'static Shard>> = Mutex::new(Vec::new());

struct Slab {
    pages: Vec<Box<[Option<Arc<Entry>>]>>,
    free: Vec<u32>,
    next: u32,
    len: usize,
    inbound: usize,
    /// Inbound, then outbound.
    totals: [Totals; 2],
    /// Ended requests not yet drained (only while someone drains them).
    finished: Vec<FinishedRaw>,
    finished_dropped: u64,
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
    /// Terminated by an operator.
    pub terminated: u64,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ending {
    /// The response is complete: its body reached end of stream, or it had none.
    Completed,
    /// The service returned an error instead of a response.
    Failed,
    /// The response body returned an error.
    BodyFailed,
    /// The response future or body was dropped before the end: the client went away, a
    /// timeout fired, the handler panicked, or the caller dropped the response.
    DroppedEarly,
    /// An operator terminated it ([`Table::terminate`]).
    Terminated,
}

impl Ending {
    /// `completed`, `failed`, `body_failed`, `dropped_early` or `terminated`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            Ending::Failed => "failed",
            Ending::BodyFailed => "body_failed",
            Ending::DroppedEarly => "dropped_early",
            Ending::Terminated => "terminated",
        }
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request that ended, as [`Table::drain_finished`] returns it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Finished {
    /// The request as it was when it ended (`age` is its duration), with its whole
    /// status history.
    pub entry: EntrySnapshot,
    /// How it ended.
    pub ending: Ending,
    /// When it ended.
    pub ended_at: SystemTime,
    /// How long it was in flight.
    pub duration: Duration,
}

/// Why [`Table::terminate`] or [`Table::cancel`] did nothing.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ControlError {
    /// No request with this id is in flight.
    NotFound(u64),
    /// The request forbade it ([`RequestHandle::forbid_cancel`]); here is the request.
    Forbidden(Box<EntrySnapshot>),
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::NotFound(id) => write!(f, "no request #{id} is in flight"),
            ControlError::Forbidden(entry) => write!(
                f,
                "request #{} forbids cancelling and terminating",
                entry.id
            ),
        }
    }
}

impl std::error::Error for ControlError {}

/// Finished requests kept per shard until drained; more are counted and dropped.
const FINISHED_PER_SHARD: usize = 8192;

struct FinishedRaw {
    entry: Arc<Entry>,
    ending: Ending,
    ended_at: Nanos,
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
        self.totals[usize::from(!inbound)].started += 1;
        index
    }

    fn remove(
        &mut self,
        index: u32,
        id: u64,
        ending: Ending,
        ended_at: Nanos,
    ) -> Option<Arc<Entry>> {
        let slot = self.slot(index)?;
        if slot.as_ref().is_none_or(|entry| entry.id != id) {
            return None;
        }
        let entry = slot.take()?;
        self.free.push(index);
        self.len -= 1;
        self.inbound -= usize::from(entry.direction == Direction::Inbound);
        let totals = &mut self.totals[usize::from(entry.direction == Direction::Outbound)];
        match ending {
            Ending::Completed => totals.completed += 1,
            Ending::Failed => totals.failed += 1,
            Ending::BodyFailed => totals.body_failed += 1,
            Ending::DroppedEarly => totals.dropped_early += 1,
            Ending::Terminated => totals.terminated += 1,
        }
        if ended_at == 0 {
            return Some(entry);
        }
        if self.finished.len() >= FINISHED_PER_SHARD {
            self.finished_dropped += 1;
            return Some(entry);
        }
        self.finished.push(FinishedRaw {
            entry,
            ending,
            ended_at,
        });
        None
    }
}

impl Slab {
    fn new() -> Slab {
        Slab {
            pages: Vec::new(),
            free: Vec::new(),
            next: 0,
            len: 0,
            inbound: 0,
            totals: [Totals::default(); 2],
            finished: Vec::new(),
            finished_dropped: 0,
        }
    }
}

impl Shard {
    /// An empty shard: a spare one, or a new one that is never freed.
    fn take() -> &'static Shard {
        let spare = SPARE_SHARDS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        spare.unwrap_or_else(|| {
            Box::leak(Box::new(Shard {
                slab: SpinMutex::new(Slab::new()),
                collect: AtomicBool::new(false),
                waiting: AtomicU32::new(0),
            }))
        })
    }

    /// Empties the shard of a dropped table and keeps it for the next table. A request of
    /// the dropped table that ends later finds another id in its slot and leaves it alone.
    fn give_back(&'static self) {
        self.collect.store(false, Relaxed);
        let emptied = std::mem::replace(&mut *self.lock(), Slab::new());
        // Entries are freed outside the lock.
        drop(emptied);
        SPARE_SHARDS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(self);
    }

    #[inline]
    fn lock(&self) -> SpinMutexGuard<'_, Slab> {
        match self.slab.try_lock() {
            Some(guard) => guard,
            None => self.lock_contended(),
        }
    }

    #[cold]
    fn lock_contended(&self) -> SpinMutexGuard<'_, Slab> {
        self.waiting.fetch_add(1, Relaxed);
        let mut spins = 0u32;
        loop {
            if let Some(guard) = self.slab.try_lock_weak() {
                self.waiting.fetch_sub(1, Relaxed);
                return guard;
            }
            if spins < 100 {
                spins += 1;
                std::hint::spin_loop();
            } else {
                // The holder may have been preempted: let it run.
                std::thread::yield_now();
            }
        }
    }

    fn remove(&self, index: u32, id: u64, ending: Ending) {
        // The end time only matters to whoever drains finished requests.
        let ended_at = if self.collect.load(Relaxed) {
            clock::now()
        } else {
            0
        };
        let removed = self.lock().remove(index, id, ending, ended_at);
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
            // Requests first: wait until those that queued behind this page got the lock.
            let mut spins = 0u32;
            while self.waiting.load(Relaxed) > 0 {
                if spins < 1000 {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
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

    /// This thread's shard, locked; or, while a snapshot holds it, any other shard that
    /// is free, so that a snapshot preempted in the middle of a page (a busy machine)
    /// does not hold up new requests for the rest of its time slice.
    #[inline]
    fn lock_shard(&self) -> (&'static Shard, SpinMutexGuard<'static, Slab>) {
        let shards = &self.inner.shards;
        // The shard count is a power of two.
        let mask = shards.len() - 1;
        let home = thread_seed() & mask;
        let shard = shards[home];
        match shard.slab.try_lock() {
            Some(slab) => (shard, slab),
            None => self.lock_other_shard(home),
        }
    }

    #[cold]
    fn lock_other_shard(&self, home: usize) -> (&'static Shard, SpinMutexGuard<'static, Slab>) {
        let shards = &self.inner.shards;
        let mask = shards.len() - 1;
        for step in 1..shards.len() {
            let shard = shards[(home + step) & mask];
            if let Some(slab) = shard.slab.try_lock() {
                return (shard, slab);
            }
        }
        let shard = shards[home];
        (shard, shard.lock())
    }

    pub(crate) fn history_limit(&self) -> u16 {
        self.inner.shared.history_limit
    }

    /// Puts a request in the table.
    #[inline]
    pub(crate) fn register(&self, start: Start<'_>) -> Tracked {
        let id = start.id;
        let entry = new_entry(start, clock::now());
        let (shard, mut slab) = self.lock_shard();
        let slot = slab.insert(entry.clone());
        drop(slab);
        Tracked {
            shard,
            slot,
            id,
            entry: Some(entry),
            parent: None,
            open: true,
        }
    }

    pub(crate) fn view(&self) -> View<'_> {
        let shared = &self.inner.shared;
        View {
            now: clock::now(),
            not_reading_after: shared.not_reading_after,
            sensitive: &shared.redaction,
        }
    }

    /// Every entry, oldest first.
    pub(crate) fn entries(&self) -> Vec<Arc<Entry>> {
        self.entries_where(|_| true)
    }

    fn entries_where(&self, keep: impl Fn(&Entry) -> bool) -> Vec<Arc<Entry>> {
        self.keyed_entries(keep)
            .into_iter()
            .filter_map(|(_, _, entry)| entry)
            .collect()
    }

    /// Entries with their start and id, oldest first. Sorted by the keys copied next to
    /// each entry, so the sort does not chase pointers.
    /// (The entries are in `Option`s so the dump can let each go as soon as it is written.)
    pub(crate) fn keyed_entries(
        &self,
        keep: impl Fn(&Entry) -> bool,
    ) -> Vec<(Nanos, u64, Option<Arc<Entry>>)> {
        let mut keyed = Vec::with_capacity(self.len());
        for shard in self.inner.shards.iter() {
            shard.for_each_page(|entry| {
                if keep(entry) {
                    keyed.push((entry.start, entry.id, Some(entry.clone())));
                }
            });
        }
        keyed.sort_unstable_by_key(|(start, id, _)| (*start, *id));
        keyed
    }

    /// Owned copies of every request in flight, oldest first, each with its status history.
    ///
    /// Requests keep flowing while the snapshot is taken: the table is copied one page of a
    /// shard at a time and formatted outside every lock.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_with(true)
    }

    /// Like [`snapshot`](Table::snapshot) without status histories: what the text dump
    /// and request lists need, and cheaper.
    pub fn snapshot_summary(&self) -> Snapshot {
        self.snapshot_with(false)
    }

    /// Like [`snapshot`](Table::snapshot), only for requests in flight for at least
    /// `min_age`. Cheap when few are: the others are skipped before anything is copied.
    pub fn snapshot_older_than(&self, min_age: Duration) -> Snapshot {
        let now = clock::now();
        let min_age = u64::try_from(min_age.as_nanos()).unwrap_or(u64::MAX);
        let entries = self.entries_where(|entry| now.saturating_sub(entry.start) >= min_age);
        self.snapshot_of(entries, true)
    }

    /// How long the oldest request in flight in `direction` has been, if any.
    pub fn oldest(&self, direction: Direction) -> Option<Duration> {
        let mut oldest: Option<Nanos> = None;
        for shard in self.inner.shards.iter() {
            shard.for_each_page(|entry| {
                if entry.direction == direction {
                    oldest = Some(oldest.map_or(entry.start, |start| start.min(entry.start)));
                }
            });
        }
        oldest.map(|start| clock::between(start, clock::now()))
    }

    pub(crate) fn snapshot_with(&self, history: bool) -> Snapshot {
        self.snapshot_of(self.entries(), history)
    }

    fn snapshot_of(&self, entries: Vec<Arc<Entry>>, history: bool) -> Snapshot {
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
        let mut sum = self.totals_of(Direction::Inbound);
        sum.add(&self.totals_of(Direction::Outbound));
        sum
    }

    /// Like [`totals`](Table::totals), for one direction.
    pub fn totals_of(&self, direction: Direction) -> Totals {
        let mut sum = Totals::default();
        for shard in self.inner.shards.iter() {
            let totals = shard.lock().totals[usize::from(direction == Direction::Outbound)];
            sum.add(&totals);
        }
        sum
    }
}

impl Totals {
    fn add(&mut self, totals: &Totals) {
        let sum = self;
        {
            sum.started += totals.started;
            sum.completed += totals.completed;
            sum.failed += totals.failed;
            sum.body_failed += totals.body_failed;
            sum.dropped_early += totals.dropped_early;
            sum.terminated += totals.terminated;
        }
    }
}

impl Table {
    /// The requests that ended since the last call, oldest end first.
    ///
    /// The first call starts the collection: until then nothing is kept. Each shard keeps
    /// up to 8192 ended requests between calls and counts what it had to drop (see
    /// [`finished_dropped`](Table::finished_dropped)), so a consumer that falls behind
    /// never makes requests wait or memory grow. The admin server drains every 50 ms.
    pub fn drain_finished(&self) -> Vec<Finished> {
        for shard in self.inner.shards.iter() {
            shard.collect.store(true, Relaxed);
        }
        let mut raw = Vec::new();
        for shard in self.inner.shards.iter() {
            let taken = std::mem::take(&mut shard.lock().finished);
            raw.extend(taken);
        }
        raw.sort_unstable_by_key(|finished| finished.ended_at);
        let shared = &self.inner.shared;
        raw.into_iter()
            .map(|finished| {
                let view = View {
                    now: finished.ended_at,
                    not_reading_after: shared.not_reading_after,
                    sensitive: &shared.redaction,
                };
                let entry = finished.entry.snapshot(&view, true);
                Finished {
                    duration: entry.age,
                    entry,
                    ending: finished.ending,
                    ended_at: clock::wall(finished.ended_at),
                }
            })
            .collect()
    }

    /// How many ended requests were dropped because nobody drained them in time.
    pub fn finished_dropped(&self) -> u64 {
        self.inner
            .shards
            .iter()
            .map(|shard| shard.lock().finished_dropped)
            .sum()
    }

    /// Terminates a request: its future is dropped at once and, for an inbound request,
    /// the client gets `503 Service Unavailable` saying an operator terminated it (with
    /// `message`). An outbound call resolves for its caller as a made-up `503` response
    /// carrying [`Terminated`](crate::Terminated) in its extensions, so the client's
    /// error type stays what it was. Outbound calls of a terminated inbound request are
    /// terminated with it. If the response head is already out, the body is cut short.
    ///
    /// Returns the request as it was.
    pub fn terminate(
        &self,
        id: u64,
        message: Option<String>,
    ) -> Result<EntrySnapshot, ControlError> {
        let entry = self.find(id).ok_or(ControlError::NotFound(id))?;
        let before = entry.snapshot(&self.view(), true);
        if !entry.terminate(message.clone()) {
            return Err(ControlError::Forbidden(Box::new(before)));
        }
        for child in entry.children() {
            if let Some(child) = self.find(child) {
                child.terminate(message.clone());
            }
        }
        Ok(before)
    }

    /// Asks a request to cancel: [`cancelled`](crate::cancelled) resolves in its handler
    /// and its status says so. What happens next is up to the handler; the admin server
    /// terminates it after a grace period if it is still there.
    ///
    /// Returns the request as it was.
    pub fn cancel(&self, id: u64, message: Option<String>) -> Result<EntrySnapshot, ControlError> {
        let entry = self.find(id).ok_or(ControlError::NotFound(id))?;
        let before = entry.snapshot(&self.view(), true);
        if !entry.cancel(message) {
            return Err(ControlError::Forbidden(Box::new(before)));
        }
        Ok(before)
    }

    /// Whether two handles share the same table.
    pub fn same_as(&self, other: &Table) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Drop for TableInner {
    fn drop(&mut self) {
        for shard in self.shards.iter() {
            shard.give_back();
        }
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
/// use std::time::{Duration, SystemTime};
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
    /// How many status transitions each request keeps (default 64, at least 1). Older ones
    /// are dropped and counted in [`EntrySnapshot::history_dropped`].
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
                shards: (0..shards.max(8)).map(|_| Shard::take()).collect(),
                shared,
            }),
        }
    }
}

/// A request's place in the table, held by the layer's future and then by the response
/// body. Dropping it removes the request as ended early; the layers call
/// [`finish`](Tracked::finish) when they know how it ended.
pub(crate) struct Tracked {
    shard: &'static Shard,
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
        if let Some(entry) = self.entry.take() {
            recycle(entry);
        }
    }
}

/// Entries kept per thread for the next requests.
const SPARE_ENTRIES_PER_THREAD: usize = 64;

thread_local! {
    /// Entries of ended requests that nothing else refers to, reused by the next
    /// requests of this thread: a request then costs no allocation at all.
    static SPARE_ENTRIES: RefCell<Vec<Arc<Entry>>> = const { RefCell::new(Vec::new()) };
}

/// An entry for a new request: a spare one of this thread, or a new allocation.
#[inline]
fn new_entry(start: Start<'_>, now: Nanos) -> Arc<Entry> {
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
        unique.reset(start, now);
        return entry;
    }
    Arc::new(Entry::new(start, now))
}

/// Keeps an ended request's entry for reuse if nothing else refers to it (no handle, no
/// snapshot, no drain of finished requests).
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

impl Drop for Tracked {
    fn drop(&mut self) {
        self.end(Ending::DroppedEarly);
    }
}

#[cfg(test)]
mod tests {
    use http::{Method, Uri, Version};

    use super::*;

    fn register(table: &Table) -> Tracked {
        let uri = Uri::from_static("/a");
        table.register(Start {
            id: next_id(),
            parent: 0,
            direction: Direction::Inbound,
            method: &Method::GET,
            uri: &uri,
            version: Version::HTTP_11,
            peer: None,
            request_bytes: 0,
            #[cfg(feature = "axum")]
            matched_path: None,
            history_limit: table.history_limit(),
        })
    }

    #[test]
    fn a_request_outliving_its_table_leaves_the_next_table_alone() {
        let old = Table::builder().shards(1).build();
        let stale = register(&old);
        drop(old);
        // The next table gets the old table's shards back (unless another test took them).
        let table = Table::builder().shards(1).build();
        let live = register(&table);
        assert_eq!(table.len(), 1);
        drop(stale);
        assert_eq!(table.len(), 1, "the stale request removed another one");
        assert_eq!(table.totals().dropped_early, 0);
        drop(live);
        assert_eq!(table.len(), 0);
        assert_eq!(table.totals().dropped_early, 1);
    }
}
