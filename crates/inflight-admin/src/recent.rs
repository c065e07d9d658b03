//! `GET /recent`: the last finished requests of each route, by latency bucket, like
//! `x/net/trace`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use inflight_core::{Ending, Finished, FinishedRequest};
use inflight_wire::{
    FinishedRequest as WireFinished, RecentBucket, RecentFamily, Timestamp, millis,
};

use crate::families::Families;
use crate::to_wire;

/// Lower bounds of the latency buckets.
pub(crate) const BUCKETS: [(&str, u64); 8] = [
    ("≥0s", 0),
    ("≥50ms", 50),
    ("≥100ms", 100),
    ("≥200ms", 200),
    ("≥500ms", 500),
    ("≥1s", 1_000),
    ("≥10s", 10_000),
    ("≥100s", 100_000),
];

/// Samples kept per bucket.
const PER_BUCKET: usize = 10;

/// The last finished requests of each family, by latency bucket, and its errors; indexed
/// like [`Families`].
#[derive(Default)]
pub(crate) struct Recent {
    families: Vec<Family>,
}

#[derive(Default)]
struct Family {
    finished: u64,
    buckets: [VecDeque<Arc<Finished>>; BUCKETS.len()],
    errors: VecDeque<Arc<Finished>>,
}

fn is_error(request: &FinishedRequest<'_>) -> bool {
    request.ending() != Ending::Completed
        || request
            .response_status()
            .is_some_and(|status| status.is_server_error())
}

impl Recent {
    /// Records a drained batch (`families[i]` is the family of `requests[i]`). Only the
    /// requests that end up as samples are copied: going from the newest back, at most
    /// [`PER_BUCKET`] per bucket and family.
    pub(crate) fn record(&mut self, requests: &[FinishedRequest<'_>], families: &[usize]) {
        let Some(top) = families.iter().max() else {
            return;
        };
        if self.families.len() <= *top {
            self.families.resize_with(top + 1, Family::default);
        }
        let mut taken = vec![[0usize; BUCKETS.len() + 1]; top + 1];
        let mut kept: Vec<(usize, u16)> = Vec::new();
        for (index, (request, family)) in requests.iter().zip(families).enumerate().rev() {
            self.families[*family].finished += 1;
            let counts = &mut taken[*family];
            let duration = request.duration();
            let mut mask = 0u16;
            for (bucket, (_, min_ms)) in BUCKETS.iter().enumerate() {
                if duration >= Duration::from_millis(*min_ms) && counts[bucket] < PER_BUCKET {
                    counts[bucket] += 1;
                    mask |= 1 << bucket;
                }
            }
            if is_error(request) && counts[BUCKETS.len()] < PER_BUCKET {
                counts[BUCKETS.len()] += 1;
                mask |= 1 << BUCKETS.len();
            }
            if mask != 0 {
                kept.push((index, mask));
            }
        }
        // Oldest first, so the newest end up last in each bucket.
        for (index, mask) in kept.into_iter().rev() {
            let sample = Arc::new(requests[index].to_finished());
            let family = &mut self.families[families[index]];
            for (bucket, samples) in family.buckets.iter_mut().enumerate() {
                if mask & (1 << bucket) != 0 {
                    push_bounded(samples, sample.clone());
                }
            }
            if mask & (1 << BUCKETS.len()) != 0 {
                push_bounded(&mut family.errors, sample);
            }
        }
    }

    pub(crate) fn report(&self, names: &Families) -> Vec<RecentFamily> {
        self.families
            .iter()
            .enumerate()
            .filter(|(_, family)| family.finished > 0)
            .filter_map(|(index, family)| Some((names.get(index)?, family)))
            .map(|((direction, name), family)| {
                let mut wire = RecentFamily::default();
                wire.direction = to_wire::direction(*direction);
                wire.name = name.clone();
                wire.finished = family.finished;
                wire.buckets = family
                    .buckets
                    .iter()
                    .zip(BUCKETS)
                    .map(|(samples, (bucket, min_ms))| {
                        let mut wire = RecentBucket::default();
                        wire.bucket = bucket.to_owned();
                        wire.min_ms = min_ms;
                        wire.samples = samples.iter().rev().map(|f| finished_request(f)).collect();
                        wire
                    })
                    .collect();
                wire.errors = family
                    .errors
                    .iter()
                    .rev()
                    .map(|f| finished_request(f))
                    .collect();
                wire
            })
            .collect()
    }
}

fn push_bounded(samples: &mut VecDeque<Arc<Finished>>, sample: Arc<Finished>) {
    if samples.len() == PER_BUCKET {
        samples.pop_front();
    }
    samples.push_back(sample);
}

pub(crate) fn finished_request(finished: &Finished) -> WireFinished {
    let mut wire = WireFinished::default();
    wire.request = to_wire::request(&finished.entry, true);
    wire.ending = to_wire::ending(finished.ending);
    wire.ended_at = Timestamp::from(finished.ended_at);
    wire.duration_ms = millis(finished.duration);
    wire.grpc_status = finished.grpc_status.as_ref().map(|status| status.code);
    wire.grpc_message = finished
        .grpc_status
        .as_ref()
        .and_then(|status| status.message.clone());
    wire
}
