//! `GET /recent`: the last kept requests of each family, by latency bucket, like
//! `x/net/trace`, read from the table's kept records when asked; the counts are exact.

use std::collections::HashMap;
use std::time::Duration;

use inflight_core::{Direction, EndedStats, Ending, Kept, KeptRequest};
use inflight_wire::{RecentBucket, RecentFamily};

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

/// Samples shown per bucket.
const PER_BUCKET: usize = 10;

fn is_error(request: &KeptRequest) -> bool {
    request.ending != Ending::Completed
        || request
            .response_status
            .is_some_and(|status| status.is_server_error())
}

/// The families that had requests end, each with its newest kept requests per bucket and
/// its newest errors.
pub(crate) fn report(stats: &EndedStats, kept: &Kept) -> Vec<RecentFamily> {
    let mut finished = vec![0u64; stats.families.len()];
    for series in &stats.series {
        if let Some(count) = finished.get_mut(series.family) {
            *count += series.count;
        }
    }
    let index: HashMap<(Direction, &str), usize> = stats
        .families
        .iter()
        .enumerate()
        .map(|(at, family)| ((family.direction, &*family.name), at))
        .collect();
    let mut families: Vec<RecentFamily> = stats
        .families
        .iter()
        .map(|family| {
            let mut wire = RecentFamily::default();
            wire.direction = to_wire::direction(family.direction);
            wire.name = family.name.to_string();
            wire.buckets = BUCKETS
                .iter()
                .map(|(bucket, min_ms)| {
                    let mut wire = RecentBucket::default();
                    wire.bucket = (*bucket).to_owned();
                    wire.min_ms = *min_ms;
                    wire
                })
                .collect();
            wire
        })
        .collect();
    // Newest first.
    for request in kept.requests.iter().rev() {
        let Some(at) = index.get(&(request.direction, &*request.family)) else {
            continue;
        };
        let family = &mut families[*at];
        for (bucket, (_, min_ms)) in family.buckets.iter_mut().zip(BUCKETS) {
            if request.duration >= Duration::from_millis(min_ms)
                && bucket.samples.len() < PER_BUCKET
            {
                bucket.samples.push(to_wire::kept(request));
            }
        }
        if is_error(request) && family.errors.len() < PER_BUCKET {
            family.errors.push(to_wire::kept(request));
        }
    }
    families
        .into_iter()
        .zip(finished)
        .filter(|(_, finished)| *finished > 0)
        .map(|(mut family, finished)| {
            family.finished = finished;
            family
        })
        .collect()
}
