//! Settings for a table.

use std::time::Duration;

use super::id::MAX_SHARDS;
use super::{Shared, Table, TableInner, shard};
use crate::clock;
use crate::redact::Redaction;
use crate::sync::{Arc, AtomicUsize, Mutex};

/// The fewest shards a table has; under `loom`, tables of one or two shards keep the
/// interleavings to explore few.
const MIN_SHARDS: usize = if cfg!(loom) { 1 } else { 8 };

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
    /// are dropped and counted in
    /// [`EntrySnapshot::history_dropped`](crate::EntrySnapshot::history_dropped).
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

    /// How many shards to spread requests over (rounded up to a power of two, at most
    /// 64). The default is four per CPU, at least 8.
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
            .clamp(MIN_SHARDS, MAX_SHARDS)
            .next_power_of_two();
        let shared = Shared {
            history_limit: self.history_limit,
            not_reading_after: u64::try_from(self.not_reading_after.as_nanos()).unwrap_or(u64::MAX),
            redaction: self.redaction,
        };
        Table {
            inner: Arc::new(TableInner {
                shards: (0..shards).map(|_| shard::take()).collect(),
                shared,
                subscribers: Mutex::new(()),
                subscriptions: AtomicUsize::new(0),
            }),
        }
    }
}
