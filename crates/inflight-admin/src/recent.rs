//! `GET /recent`: the last finished requests of each route, by latency bucket, like
//! `x/net/trace`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use inflight_core::wire::{FinishedRequest, RecentBucket, RecentFamily, Request, millis, rfc3339};
use inflight_core::{Direction, Ending, Finished};

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
/// Families kept; later routes share one family named `(other)`.
pub(crate) const MAX_FAMILIES: usize = 256;

#[derive(Default)]
pub(crate) struct Recent {
    families: Vec<Family>,
    index: HashMap<(Direction, String), usize>,
}

struct Family {
    direction: Direction,
    name: String,
    finished: u64,
    buckets: [VecDeque<Arc<Finished>>; BUCKETS.len()],
    errors: VecDeque<Arc<Finished>>,
}

/// The route of an inbound request (its path when it has none), or the target of an
/// outbound one.
pub(crate) fn family_name(entry: &inflight_core::EntrySnapshot) -> String {
    if let Some(route) = &entry.route {
        return route.clone();
    }
    let uri = entry.uri.as_str();
    match entry.direction {
        Direction::Inbound => uri.split('?').next().unwrap_or(uri).to_owned(),
        Direction::Outbound => {
            let after_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
            after_scheme
                .split(['/', '?'])
                .next()
                .unwrap_or(after_scheme)
                .to_owned()
        }
    }
}

pub(crate) fn is_error(finished: &Finished) -> bool {
    finished.ending != Ending::Completed
        || finished
            .entry
            .response_status
            .is_some_and(|status| status.is_server_error())
}

impl Recent {
    pub(crate) fn record(&mut self, finished: Finished) {
        let direction = finished.entry.direction;
        let mut name = family_name(&finished.entry);
        if !self.index.contains_key(&(direction, name.clone()))
            && self.families.len() >= MAX_FAMILIES
        {
            name = "(other)".into();
        }
        let families = &mut self.families;
        let index = *self
            .index
            .entry((direction, name.clone()))
            .or_insert_with(|| {
                families.push(Family {
                    direction,
                    name,
                    finished: 0,
                    buckets: Default::default(),
                    errors: VecDeque::new(),
                });
                families.len() - 1
            });
        let Some(family) = self.families.get_mut(index) else {
            return;
        };
        family.finished += 1;
        let error = is_error(&finished);
        let duration = finished.duration;
        let sample = Arc::new(finished);
        for (bucket, (_, min_ms)) in family.buckets.iter_mut().zip(BUCKETS) {
            if duration >= Duration::from_millis(min_ms) {
                push_bounded(bucket, sample.clone());
            }
        }
        if error {
            push_bounded(&mut family.errors, sample);
        }
    }

    pub(crate) fn report(&self) -> Vec<RecentFamily> {
        self.families
            .iter()
            .map(|family| RecentFamily {
                direction: family.direction.as_str().to_owned(),
                name: family.name.clone(),
                finished: family.finished,
                buckets: family
                    .buckets
                    .iter()
                    .zip(BUCKETS)
                    .map(|(samples, (bucket, min_ms))| RecentBucket {
                        bucket: bucket.to_owned(),
                        min_ms,
                        samples: samples.iter().rev().map(|f| finished_request(f)).collect(),
                    })
                    .collect(),
                errors: family
                    .errors
                    .iter()
                    .rev()
                    .map(|f| finished_request(f))
                    .collect(),
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

pub(crate) fn finished_request(finished: &Finished) -> FinishedRequest {
    FinishedRequest {
        request: Request::from_snapshot(&finished.entry, true),
        ending: finished.ending.as_str().to_owned(),
        ended_at: rfc3339(finished.ended_at),
        duration_ms: millis(finished.duration),
    }
}
