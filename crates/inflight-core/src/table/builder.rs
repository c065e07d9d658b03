//! Settings for a table.

use std::time::Duration;

use super::id::MAX_SHARDS;
use super::shard::Shard;
use super::{Shared, Table, TableInner};
use crate::clock;
use crate::ended::{KeepSettings, Rate, Recorder};
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
    keep: KeepSettings,
}

impl Default for TableBuilder {
    fn default() -> Self {
        TableBuilder {
            history_limit: 64,
            not_reading_after: Duration::from_secs(1),
            shards: None,
            redaction: Redaction::default(),
            keep: KeepSettings::default(),
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

    /// How many ended requests the table keeps as records at most (default 16,384, 128
    /// bytes each: 2 MiB), spread over its shards. See [`Table::kept`].
    pub fn kept_records(mut self, records: usize) -> Self {
        self.keep.records = records;
        self
    }

    /// How long a kept record is shown (default 5 minutes); older ones are skipped when
    /// read, and written over as new ones come.
    pub fn keep_for(mut self, age: Duration) -> Self {
        self.keep.keep_for = age;
        self
    }

    /// How many bytes the whole copies of failed, terminated and dropped-early requests
    /// (with their status history) may take (default 4 MiB); the oldest go first.
    pub fn kept_detail_bytes(mut self, bytes: usize) -> Self {
        self.keep.detail_bytes = bytes;
        self
    }

    /// Keeps every completed request up to this many a second (default 2,000), and above
    /// that a sample of them at this rate, chosen by trace id so that every service of a
    /// trace keeps it or none does. Failed, terminated, dropped-early and slow requests
    /// are kept whatever the rate.
    pub fn keep_rate(mut self, per_second: u32) -> Self {
        self.keep.rate = Rate::Adaptive(u64::from(per_second));
        self
    }

    /// Keeps this fraction of completed requests, whatever the rate (chosen by trace id,
    /// as [`keep_rate`](TableBuilder::keep_rate) does). Services that sample at the same
    /// fraction keep exactly the same traces.
    pub fn keep_fraction(mut self, fraction: f64) -> Self {
        self.keep.rate = Rate::Fixed(fraction.clamp(0.0, 1.0));
        self
    }

    /// A completed request is kept as slow when it is slower than its family's 99th
    /// percentile and at least this (default 1 ms).
    pub fn slow_at_least(mut self, floor: Duration) -> Self {
        self.keep.slow_floor = floor;
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
        let shared = std::sync::Arc::new(Shared {
            history_limit: self.history_limit,
            not_reading_after: u64::try_from(self.not_reading_after.as_nanos()).unwrap_or(u64::MAX),
            redaction: self.redaction,
            recorder: Recorder::new(self.keep, shards),
        });
        Table {
            inner: Arc::new(TableInner {
                shards: (0..shards)
                    .map(|index| Shard::new(index, shared.clone()))
                    .collect(),
                shared,
                subscribers: Mutex::new(()),
                subscriptions: AtomicUsize::new(0),
            }),
        }
    }
}
