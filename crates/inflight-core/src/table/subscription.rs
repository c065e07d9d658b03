//! The stream of ended requests: a subscription, and each ended request read in place.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};

use super::Table;
use super::finished::{Ending, Finished};
use super::slots::{FINISHED_PER_SHARD, FinishedRaw};
use crate::clock::{self, Nanos};
use crate::entry::{Entry, View};
use crate::grpc::GrpcStatus;
use crate::snapshot::Direction;
use crate::status::StatusText;
use crate::sync::Ordering;
use crate::trace::TraceContext;

/// A request that ended, read in place by a [`Subscription`]: nothing is copied unless
/// asked for.
pub struct FinishedRequest<'a> {
    entry: &'a Entry,
    ending: Ending,
    ended_at: Nanos,
    view: View<'a>,
}

impl FinishedRequest<'_> {
    /// Its id.
    pub fn id(&self) -> u64 {
        self.entry.id()
    }

    /// Where it sat in its trace.
    pub fn trace(&self) -> TraceContext {
        self.entry.trace
    }

    /// Inbound or outbound.
    pub fn direction(&self) -> Direction {
        self.entry.direction
    }

    /// How it ended.
    pub fn ending(&self) -> Ending {
        self.ending
    }

    /// How long it was in flight.
    pub fn duration(&self) -> Duration {
        clock::between(self.entry.start, self.ended_at)
    }

    /// When it ended.
    pub fn ended_at(&self) -> SystemTime {
        clock::wall(self.ended_at)
    }

    /// The request method.
    pub fn method(&self) -> Method {
        self.entry.http_method()
    }

    /// The route (set by the handler, or axum's `MatchedPath`).
    pub fn route(&self) -> Option<String> {
        self.entry.route()
    }

    /// Calls `f` with the route, without copying it.
    pub fn with_route<R>(&self, f: impl FnOnce(Option<&str>) -> R) -> R {
        self.entry.with_route(f)
    }

    /// The path of the target, without its query (which may hold secrets).
    pub fn path(&self) -> &str {
        self.entry.path()
    }

    /// `host:port` of an outbound call's target (without any userinfo), if it has one.
    pub fn authority(&self) -> Option<&str> {
        self.entry.authority()
    }

    /// The target, redacted.
    pub fn uri(&self) -> String {
        self.view.redact(self.entry.raw_uri())
    }

    /// The response status, if a response head was produced.
    pub fn response_status(&self) -> Option<StatusCode> {
        self.entry.response_status()
    }

    /// The gRPC status a gRPC call ended with, if it failed with one (its
    /// [`ending`](FinishedRequest::ending) is then [`Ending::Failed`]).
    pub fn grpc_status(&self) -> Option<GrpcStatus> {
        if !self.entry.grpc || self.ending != Ending::Failed {
            return None;
        }
        self.entry.grpc_status()
    }

    /// Calls `f` with each status the request had and how long it had it, oldest first;
    /// `buf` is the scratch space the status is written into.
    pub fn for_each_status(&self, buf: &mut String, mut f: impl FnMut(&str, Duration)) {
        self.entry.for_each_status(
            self.ended_at,
            self.view.not_reading_after,
            |status: &StatusText, stay| {
                buf.clear();
                // Writing to a String cannot fail.
                let _ = status.write_to(buf);
                f(buf, Duration::from_nanos(stay));
            },
        );
    }

    /// An owned copy, with the whole status history.
    pub fn to_finished(&self) -> Finished {
        let entry = self.entry.snapshot(&self.view, true);
        Finished {
            duration: entry.age,
            entry,
            ending: self.ending,
            ended_at: clock::wall(self.ended_at),
            grpc_status: self.grpc_status(),
        }
    }
}

impl fmt::Debug for FinishedRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FinishedRequest")
            .field("id", &self.entry.id())
            .field("direction", &self.entry.direction)
            .field("ending", &self.ending)
            .finish_non_exhaustive()
    }
}

/// The stream of requests that end in a table, for a consumer of every one of them (an
/// exporter of your own, say). The admin server does not need one: see
/// [`Table::kept`](crate::Table::kept) and [`Table::ended_stats`](crate::Table::ended_stats).
///
/// Collection runs while at least one subscription is alive, and stops when the last one
/// is dropped: without one, ending a request costs nothing more. Each shard keeps up to
/// 4096 ended requests between two [`drain`](Subscription::drain)s and counts what it had
/// to drop ([`dropped`](Subscription::dropped)), so a consumer that falls behind never
/// makes requests wait or memory grow. Subscriptions of one table share the stream: each
/// ended request goes to one of them.
///
/// ```
/// # use inflight_core as inflight;
/// let table = inflight::Table::new();
/// let mut ended = table.subscribe();
/// // ... requests come and go ...
/// ended.drain(|requests| {
///     for request in requests {
///         println!("#{} {} after {:?}", request.id(), request.ending(), request.duration());
///     }
/// });
/// ```
pub struct Subscription {
    table: Table,
    /// Per shard: the empty queue swapped in at the next drain (room already reserved).
    queues: Vec<Vec<FinishedRaw>>,
    /// The drained requests of every shard, in the order they ended.
    merged: Vec<FinishedRaw>,
}

impl Table {
    /// Starts collecting the requests that end; see [`Subscription`].
    pub fn subscribe(&self) -> Subscription {
        let shards = &self.inner.shards;
        let _serial = self
            .inner
            .subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for shard in shards.iter() {
            // Room is reserved here, outside the lock; a shard that has it keeps it.
            let mut queue = Vec::with_capacity(FINISHED_PER_SHARD);
            {
                let mut slots = shard.lock();
                if slots.finished.capacity() == 0 {
                    std::mem::swap(&mut slots.finished, &mut queue);
                }
            }
            shard.collecting.store(true, Ordering::Release);
        }
        self.inner.subscriptions.fetch_add(1, Ordering::AcqRel);
        Subscription {
            table: self.clone(),
            queues: shards
                .iter()
                .map(|_| Vec::with_capacity(FINISHED_PER_SHARD))
                .collect(),
            merged: Vec::new(),
        }
    }
}

impl Subscription {
    /// Hands `f` every request that ended since the last drain, oldest end first, and
    /// returns how many there were. The entries are read in place, then let go of.
    pub fn drain(&mut self, f: impl FnOnce(&[FinishedRequest<'_>])) -> usize {
        let table = &self.table;
        for (index, shard) in table.inner.shards.iter().enumerate() {
            let queue = &mut self.queues[index];
            std::mem::swap(&mut shard.lock().finished, queue);
            self.merged.append(queue);
        }
        self.merged.sort_unstable_by_key(|raw| raw.ended_at);
        let count = self.merged.len();
        if count > 0 {
            let shared = &table.inner.shared;
            let requests: Vec<FinishedRequest<'_>> = self
                .merged
                .iter()
                .map(|raw| FinishedRequest {
                    entry: &raw.entry,
                    ending: raw.ending,
                    ended_at: raw.ended_at,
                    view: View {
                        now: raw.ended_at,
                        not_reading_after: shared.not_reading_after,
                        sensitive: &shared.redaction,
                    },
                })
                .collect();
            f(&requests);
        }
        self.merged.clear();
        count
    }

    /// How many ended requests were dropped because the subscribers did not drain in time.
    pub fn dropped(&self) -> u64 {
        self.table.finished_dropped()
    }

    /// The table this subscription reads.
    pub fn table(&self) -> &Table {
        &self.table
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let inner = &self.table.inner;
        let _serial = inner
            .subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if inner.subscriptions.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        for shard in inner.shards.iter() {
            shard.collecting.store(false, Ordering::Release);
            let queue = std::mem::take(&mut shard.lock().finished);
            // Freed outside the lock.
            drop(queue);
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}
