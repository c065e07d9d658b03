//! What a reader gets: the counts of every ended request, and the kept records.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};

use super::KeptRequest;
use super::stats::DURATION_BUCKETS;
use crate::snapshot::Direction;
use crate::table::Ending;

/// The counts of every request that ended in a table, exact, by family and series: see
/// [`Table::ended_stats`](crate::Table::ended_stats).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EndedStats {
    /// The families, numbered as in [`SeriesStats::family`]. The first three are each
    /// direction's `(other)`, which takes what is over the bounds.
    pub families: Vec<FamilyName>,
    /// Every series: a family with a method, a response status and an ending.
    pub series: Vec<SeriesStats>,
    /// The fraction of completed requests (not slow) kept as records right now.
    pub sample_probability: f64,
}

/// A family of ended requests: an inbound route (or path without one), an outbound
/// `host:port`, or work's name.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FamilyName {
    /// Inbound, outbound or work.
    pub direction: Direction,
    /// Whether `name` is a route (set by the handler, axum's `MatchedPath`, a gRPC
    /// method) or work's name, rather than a path or `host:port`.
    pub routed: bool,
    /// The route, path, `host:port` or name; `(other)` for what is over the bounds.
    pub name: Arc<str>,
}

/// The counts of one series.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SeriesStats {
    /// Its number: the same series has the same number in every reading of a table.
    pub id: usize,
    /// Its family, an index into [`EndedStats::families`].
    pub family: usize,
    /// The method; `None` for the series of what is over the bounds.
    pub method: Option<Method>,
    /// The response status, if a response head was produced.
    pub response_status: Option<StatusCode>,
    /// How the requests ended.
    pub ending: Ending,
    /// How many ended.
    pub count: u64,
    /// Their durations, summed.
    pub total: Duration,
    /// How many fell in each duration bucket (see [`bucket_lower_bound`](crate::bucket_lower_bound)).
    pub buckets: [u64; DURATION_BUCKETS],
}

impl SeriesStats {
    /// What was counted since `earlier`, a reading of the same series.
    pub fn since(&self, earlier: &SeriesStats) -> SeriesStats {
        let mut later = self.clone();
        later.count = self.count.saturating_sub(earlier.count);
        later.total = self.total.saturating_sub(earlier.total);
        for (bucket, before) in later.buckets.iter_mut().zip(earlier.buckets) {
            *bucket = bucket.saturating_sub(before);
        }
        later
    }
}

/// The kept records of a table, copied: see [`Table::kept`](crate::Table::kept).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Kept {
    /// The kept requests still within the keeping time, oldest end first.
    pub requests: Vec<KeptRequest>,
    /// How many requests ended in all.
    pub ended: u64,
    /// How many of them were kept as records (some since written over).
    pub kept: u64,
    /// How many records are held now within the keeping time, of every trace.
    pub held: usize,
    /// The most records the table holds.
    pub capacity: usize,
    /// How long a record is kept at most.
    pub keep_for: Duration,
    /// Bytes held by the whole copies of failed, terminated and dropped-early requests.
    pub detail_bytes: usize,
    /// The most bytes those copies may hold.
    pub detail_budget: usize,
    /// The fraction of completed requests (not slow) kept right now.
    pub sample_probability: f64,
}
