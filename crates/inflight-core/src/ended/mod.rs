//! What a table keeps of the requests that ended, recorded by each request's own thread
//! as it leaves the table and read by whoever asks (the admin port's `/recent`,
//! `/profile`, `/traces/{id}` and `/metrics`).
//!
//! Nothing per request is handed to another thread. A request that ends, holding its
//! shard's lock to leave the table anyway, adds itself to
//! - exact counts and a duration histogram for its *series* (family, method, status and
//!   ending), one stripe per shard, like a Prometheus histogram's observe;
//! - when it is *kept*, a 128-byte record in its shard's ring.
//!
//! Kept are every failed, terminated and dropped-early request (these also keep their
//! whole status history, within a byte budget), every 5xx, every request slower than its family's
//! threshold, and a sample of the rest chosen from the trace id (see `sample`), all of
//! them below a few thousand requests a second. Readers copy the rings and sum the
//! stripes when asked: the cost of a report is paid by whoever asks for it.
//!
//! - `names`: families and series, numbered once per table.
//! - `stats`: counts and histograms.
//! - `statuses`: statuses, numbered for the records.
//! - `record`: one kept request in 128 bytes, and [`KeptRequest`], how it is read.
//! - `ring`: a shard's ring of records.
//! - `details`: the whole of the requests that did not complete.
//! - `sample`: which completed requests are kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use http::StatusCode;

mod details;
mod names;
mod record;
mod report;
mod ring;
mod sample;
mod stats;
mod statuses;

pub use record::KeptRequest;
pub use report::{EndedStats, FamilyName, Kept, SeriesStats};
pub use stats::{DURATION_BUCKETS, bucket_lower_bound, bucket_upper_bound};

pub(crate) use details::Details;
pub(crate) use names::MAX_FAMILIES;
pub(crate) use record::Record;
pub(crate) use ring::Ring;
pub(crate) use sample::Rate;
#[cfg(loom)]
pub(crate) use sample::Sampler;
pub(crate) use stats::Series;

use crate::clock::{self, Nanos};
use crate::entry::{Entry, View};
use crate::snapshot::Direction;
use crate::table::{Ending, Finished};
use names::{Names, SeriesKey};
#[cfg(not(loom))]
use sample::Sampler;
use statuses::StatusNames;

/// How a table keeps ended requests (set with [`TableBuilder`](crate::TableBuilder)).
#[derive(Clone, Debug)]
pub(crate) struct KeepSettings {
    pub(crate) records: usize,
    pub(crate) keep_for: Duration,
    pub(crate) detail_bytes: usize,
    pub(crate) rate: Rate,
    pub(crate) slow_floor: Duration,
}

impl Default for KeepSettings {
    fn default() -> Self {
        KeepSettings {
            records: 16_384,
            keep_for: Duration::from_secs(300),
            detail_bytes: 4 << 20,
            rate: Rate::Adaptive(2_000),
            slow_floor: Duration::from_millis(1),
        }
    }
}

/// A table's record of ended requests: numbering, sampling and settings. The counts and
/// rings themselves live in the shards.
pub(crate) struct Recorder {
    names: Names,
    statuses: StatusNames,
    sampler: Sampler,
    /// Per family: a completed request at least this long (ns) is kept.
    slow: Box<[AtomicU64]>,
    window_start: AtomicU64,
    pub(crate) settings: KeepSettings,
    shards: usize,
}

/// What a request leaves when it ends, found before its shard's lock is taken; small, so
/// that passing it around copies little (the record, when kept, is made in place).
pub(crate) struct Leaving<'a> {
    pub(crate) series: &'a Series,
    pub(crate) nanos: u64,
    /// Kept: its family's number.
    pub(crate) kept: Option<u16>,
}

impl Recorder {
    pub(crate) fn new(settings: KeepSettings, shards: usize) -> Recorder {
        let floor = u64::try_from(settings.slow_floor.as_nanos()).unwrap_or(u64::MAX);
        Recorder {
            names: Names::new(shards),
            statuses: StatusNames::new(),
            sampler: Sampler::new(settings.rate),
            slow: (0..MAX_FAMILIES).map(|_| AtomicU64::new(floor)).collect(),
            window_start: AtomicU64::new(0),
            settings,
            shards,
        }
    }

    /// Records per shard ring.
    pub(crate) fn ring_capacity(&self) -> usize {
        self.settings.records.div_ceil(self.shards)
    }

    pub(crate) fn detail_budget(&self) -> usize {
        self.settings.detail_bytes / self.shards
    }

    /// The family of `entry`: its route, else its path (inbound) or `host:port`
    /// (outbound).
    #[inline]
    fn family_of(&self, entry: &Entry) -> u16 {
        let direction = entry.direction;
        entry.with_route(|route| match route {
            Some(route) => self.names.family(direction, true, route),
            None => match direction {
                Direction::Inbound => self.names.family(direction, false, entry.path()),
                Direction::Outbound => {
                    self.names
                        .family(direction, false, entry.authority().unwrap_or(""))
                }
                Direction::Work => self.names.family(direction, false, ""),
            },
        })
    }

    /// What `entry`, ending now, leaves behind: its series, its duration, and whether
    /// it is kept.
    #[inline]
    pub(crate) fn leaving(&self, entry: &Entry, ending: Ending, now: Nanos) -> Leaving<'_> {
        let nanos = now.saturating_sub(entry.start);
        let family = self.family_of(entry);
        let (method, status) = entry.method_and_status_codes();
        let series = self.names.series(
            entry.direction,
            SeriesKey {
                family,
                method,
                status,
                ending,
            },
        );
        let kept = self.settings.records > 0
            && (ending != Ending::Completed
                || status >= 500
                || self
                    .slow
                    .get(usize::from(family))
                    .is_some_and(|slow| nanos >= slow.load(Relaxed))
                || self.sampler.keeps(entry.trace.trace_id));
        Leaving {
            series,
            nanos,
            kept: kept.then_some(family),
        }
    }

    /// The whole of a request that did not complete, kept with its record.
    pub(crate) fn whole(
        &self,
        entry: &Entry,
        view: &View<'_>,
        ending: Ending,
        now: Nanos,
    ) -> Option<Arc<Finished>> {
        if ending == Ending::Completed {
            return None;
        }
        let snapshot = entry.snapshot(view, true);
        Some(Arc::new(Finished {
            duration: snapshot.age,
            entry: snapshot,
            ending,
            ended_at: clock::wall(now),
            grpc_status: if entry.grpc && ending == Ending::Failed {
                entry.grpc_status()
            } else {
                None
            },
        }))
    }

    /// The record of a kept request.
    pub(crate) fn record(
        &self,
        entry: &Entry,
        view: &View<'_>,
        ending: Ending,
        leaving: &Leaving<'_>,
        family: u16,
        whole: bool,
    ) -> Record {
        Record::of(
            entry,
            view,
            ending,
            leaving.nanos,
            family,
            whole,
            &self.statuses,
        )
    }

    /// Every tenth of a second, by whichever request ends first after it: the sample's
    /// rate from how many ended, each family's slowness threshold from its histogram.
    #[inline]
    pub(crate) fn tick(&self, now: Nanos) {
        // Under `loom` the window's protocol is explored on its own
        // (`table/loom/ended.rs`): reading every series here would multiply the table's
        // models past what can be explored.
        if cfg!(not(loom)) && self.sampler.window_over(now) {
            self.next_window(now);
        }
    }

    #[cold]
    fn next_window(&self, now: Nanos) {
        let started = self.window_start.swap(now, Relaxed);
        let families = self.names.families().len();
        let mut per_family = vec![stats::Counts::default(); families];
        let mut ended = 0;
        for series in self.names.all_series() {
            let counts = series.read();
            ended += counts.count;
            if let Some(family) = per_family.get_mut(usize::from(series.key().family)) {
                family.add(&counts);
            }
        }
        self.sampler
            .next_window(ended, clock::between(started, now));
        let floor = u64::try_from(self.settings.slow_floor.as_nanos()).unwrap_or(u64::MAX);
        for (slow, counts) in self.slow.iter().zip(&per_family) {
            if counts.count == 0 {
                continue;
            }
            let p99 = counts.quantile_bucket(0.99);
            let above = u64::try_from(bucket_upper_bound(p99).as_nanos()).unwrap_or(u64::MAX);
            slow.store(above.max(floor), Relaxed);
        }
    }

    /// Every family and series with its counts.
    pub(crate) fn stats(&self) -> EndedStats {
        let families = self.names.families();
        let series = self
            .names
            .all_series()
            .enumerate()
            .map(|(id, series)| {
                let key = series.key();
                let counts = series.read();
                let direction = families
                    .get(usize::from(key.family))
                    .map_or(Direction::Inbound, |family| family.direction);
                SeriesStats {
                    id,
                    family: usize::from(key.family),
                    method: (key.method != u8::MAX)
                        .then(|| crate::entry::method_of_code(key.method, direction)),
                    response_status: StatusCode::from_u16(key.status).ok(),
                    ending: key.ending,
                    count: counts.count,
                    total: Duration::from_nanos(counts.nanos),
                    buckets: counts.buckets,
                }
            })
            .collect();
        EndedStats {
            families: families
                .into_iter()
                .map(|family| FamilyName {
                    direction: family.direction,
                    routed: family.routed,
                    name: family.name,
                })
                .collect(),
            series,
            sample_probability: self.sampler.probability(),
        }
    }

    /// The fraction of completed requests (not slow) kept right now.
    pub(crate) fn stats_probability(&self) -> f64 {
        self.sampler.probability()
    }

    pub(crate) fn families(&self) -> Vec<names::Family> {
        self.names.families()
    }

    pub(crate) fn series(&self, number: u16) -> Option<&Series> {
        self.names.series_by_number(number)
    }

    pub(crate) fn statuses(&self) -> &StatusNames {
        &self.statuses
    }
}
