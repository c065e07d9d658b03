//! The ring of recently finished requests behind `GET /traces/{id}`: bounded by count and
//! by age, indexed by trace id so a lookup reads only that trace's requests.
//!
//! The requests of one trace are chained through the ring (each names the next one of
//! its trace), and the index holds each trace's first and last: keeping a request
//! allocates nothing for the index beyond the map's own table.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use inflight_core::{FinishedRequest, TraceId};

mod hop;
pub(crate) use hop::Hop;
use hop::Scratch;

/// No next request in the trace.
const END: u64 = u64::MAX;

/// One finished request and what the ring needs to find and drop it.
struct Kept {
    trace: TraceId,
    /// When it ended, on the monotonic clock, so a wall-clock step never ages the ring.
    ended: Instant,
    /// The sequence number of the next kept request of the same trace, or [`END`].
    next: u64,
    hop: Hop,
}

/// The first and last kept requests of a trace, by sequence number.
#[derive(Clone, Copy)]
struct Chain {
    first: u64,
    last: u64,
}

/// The last `capacity` finished requests that ended less than `max_age` ago, oldest end
/// first.
pub(crate) struct TraceRing {
    capacity: usize,
    max_age: Duration,
    kept: VecDeque<Kept>,
    /// The sequence number of `kept[0]`; `kept[i]` has `first + i`.
    first: u64,
    index: HashMap<TraceId, Chain, foldhash::fast::RandomState>,
    scratch: Scratch,
}

impl TraceRing {
    pub(crate) fn new(capacity: usize, max_age: Duration) -> TraceRing {
        TraceRing {
            capacity,
            max_age,
            kept: VecDeque::new(),
            first: 0,
            index: HashMap::default(),
            scratch: Scratch::default(),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn max_age(&self) -> Duration {
        self.max_age
    }

    pub(crate) fn len(&self) -> usize {
        self.kept.len()
    }

    /// Keeps a drained batch (oldest end first), then drops what is too old or too many.
    pub(crate) fn record(&mut self, requests: &[FinishedRequest<'_>]) {
        let now = Instant::now();
        if self.capacity > 0 && !self.max_age.is_zero() {
            let wall_now = SystemTime::now();
            // Only the newest `capacity` of a batch could stay: skip copying the rest.
            let skip = requests.len().saturating_sub(self.capacity);
            for request in &requests[skip..] {
                let ago = wall_now
                    .duration_since(request.ended_at())
                    .unwrap_or_default();
                let hop = Hop::new(request, &mut self.scratch);
                self.push(
                    request.trace().trace_id,
                    now.checked_sub(ago).unwrap_or(now),
                    hop,
                );
            }
        }
        self.expire(now);
    }

    fn push(&mut self, trace: TraceId, ended: Instant, hop: Hop) {
        if self.kept.len() == self.capacity {
            self.pop_oldest();
        }
        let seq = self.first + self.kept.len() as u64;
        let chain = self.index.entry(trace).or_insert(Chain {
            first: seq,
            last: seq,
        });
        if chain.last != seq {
            let last = chain.last;
            chain.last = seq;
            if let Some(previous) = self.slot_mut(last) {
                previous.next = seq;
            }
        }
        self.grow();
        self.kept.push_back(Kept {
            trace,
            ended,
            next: END,
            hop,
        });
    }

    /// Makes room for one more, growing by doubling but never past `capacity`: a ring
    /// takes memory only as far as it is used.
    fn grow(&mut self) {
        let len = self.kept.len();
        if len == self.kept.capacity() {
            let target = (len * 2).max(16).min(self.capacity);
            self.kept.reserve_exact(target - len);
        }
    }

    /// Drops what ended `max_age` ago or earlier.
    pub(crate) fn expire(&mut self, now: Instant) {
        while self
            .kept
            .front()
            .is_some_and(|kept| now.saturating_duration_since(kept.ended) >= self.max_age)
        {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        let Some(oldest) = self.kept.pop_front() else {
            return;
        };
        self.first += 1;
        // The oldest of the ring is the first of its trace's chain.
        if oldest.next == END {
            self.index.remove(&oldest.trace);
        } else if let Some(chain) = self.index.get_mut(&oldest.trace) {
            chain.first = oldest.next;
        }
    }

    fn slot(&self, seq: u64) -> Option<&Kept> {
        self.kept
            .get(usize::try_from(seq.checked_sub(self.first)?).ok()?)
    }

    fn slot_mut(&mut self, seq: u64) -> Option<&mut Kept> {
        let at = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.kept.get_mut(at)
    }

    /// The kept requests of `trace`, oldest end first.
    pub(crate) fn of(&self, trace: TraceId) -> impl Iterator<Item = &Hop> {
        let mut next = self.index.get(&trace).map_or(END, |chain| chain.first);
        std::iter::from_fn(move || {
            let kept = self.slot(next)?;
            next = kept.next;
            Some(&kept.hop)
        })
    }
}

#[cfg(test)]
mod tests;
