//! The ring of recently finished requests behind `GET /traces/{id}`: bounded by count and
//! by age, indexed by trace id so a lookup reads only that trace's requests.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use inflight_core::{Finished, FinishedRequest, TraceId};

/// One finished request and what the ring needs to find and drop it.
struct Kept {
    trace: TraceId,
    /// When it ended, on the monotonic clock, so a wall-clock step never ages the ring.
    ended: Instant,
    finished: Finished,
}

/// The last `capacity` finished requests that ended less than `max_age` ago, oldest end
/// first.
pub(crate) struct TraceRing {
    capacity: usize,
    max_age: Duration,
    kept: VecDeque<Kept>,
    /// The sequence number of `kept[0]`; `kept[i]` has `first + i`.
    first: u64,
    /// Per trace, the sequence numbers of its kept requests, ascending.
    index: HashMap<TraceId, VecDeque<u64>, foldhash::fast::RandomState>,
}

impl TraceRing {
    pub(crate) fn new(capacity: usize, max_age: Duration) -> TraceRing {
        TraceRing {
            capacity,
            max_age,
            kept: VecDeque::new(),
            first: 0,
            index: HashMap::default(),
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
                let kept = Kept {
                    trace: request.trace().trace_id,
                    ended: now.checked_sub(ago).unwrap_or(now),
                    finished: request.to_finished(),
                };
                let seq = self.first + self.kept.len() as u64;
                self.index.entry(kept.trace).or_default().push_back(seq);
                self.kept.push_back(kept);
                if self.kept.len() > self.capacity {
                    self.pop_oldest();
                }
            }
        }
        self.expire(now);
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
        let seq = self.first;
        self.first += 1;
        if let Some(seqs) = self.index.get_mut(&oldest.trace) {
            // The oldest of the ring is the oldest of its trace.
            if seqs.front() == Some(&seq) {
                seqs.pop_front();
            }
            if seqs.is_empty() {
                self.index.remove(&oldest.trace);
            }
        }
    }

    /// The kept requests of `trace`, oldest end first.
    pub(crate) fn of(&self, trace: TraceId) -> impl Iterator<Item = &Finished> {
        self.index
            .get(&trace)
            .into_iter()
            .flatten()
            .filter_map(|seq| self.kept.get(usize::try_from(seq - self.first).ok()?))
            .map(|kept| &kept.finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_ring_finds_nothing() {
        let mut ring = TraceRing::new(4, Duration::from_secs(60));
        ring.expire(Instant::now());
        assert_eq!(ring.len(), 0);
        assert_eq!(ring.of(TraceId::random()).count(), 0);
    }
}
