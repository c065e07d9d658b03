//! `GET /profile`: where the time of ended requests went, per route and status (the
//! "profiles" of a process table). Each route's requests and total time are exact, from
//! the table's counts; the time per status comes from the kept requests of the window,
//! a sample like a CPU profile's.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use inflight_core::{EndedStats, Kept, SeriesStats};
use inflight_wire::{ProfileRoute, ProfileStatus, Timestamp, millis};

use crate::to_wire;

/// A profile window: when it started, and the counts it started from.
pub(crate) struct Window {
    since: SystemTime,
    baseline: HashMap<usize, SeriesStats>,
}

impl Window {
    /// A window starting now, from the table's counts now.
    pub(crate) fn new(stats: &EndedStats) -> Window {
        Window {
            since: SystemTime::now(),
            baseline: stats
                .series
                .iter()
                .map(|series| (series.id, series.clone()))
                .collect(),
        }
    }

    pub(crate) fn since(&self) -> SystemTime {
        self.since
    }

    pub(crate) fn window_start(&self) -> Timestamp {
        Timestamp::from(self.since)
    }

    /// The routes of the window, largest total first, and how many kept requests the
    /// statuses come from.
    pub(crate) fn report(&self, stats: &EndedStats, kept: &Kept) -> (Vec<ProfileRoute>, u64) {
        let mut routes: Vec<(u64, Duration)> = vec![(0, Duration::ZERO); stats.families.len()];
        for series in &stats.series {
            let counted = match self.baseline.get(&series.id) {
                Some(before) => series.since(before),
                None => series.clone(),
            };
            if let Some(route) = routes.get_mut(series.family) {
                route.0 += counted.count;
                route.1 += counted.total;
            }
        }
        let index: HashMap<(inflight_core::Direction, &str), usize> = stats
            .families
            .iter()
            .enumerate()
            .map(|(at, family)| ((family.direction, &*family.name), at))
            .collect();
        // Per route, per status: every kept request's time in it.
        let mut statuses: Vec<Vec<(String, Vec<Duration>)>> = vec![Vec::new(); routes.len()];
        let mut sampled = 0;
        for request in &kept.requests {
            if request.ended_at < self.since {
                continue;
            }
            let Some(at) = index.get(&(request.direction, &*request.family)) else {
                continue;
            };
            sampled += 1;
            let route = &mut statuses[*at];
            for (status, stay) in &request.statuses {
                match route.iter_mut().find(|(s, _)| s == status) {
                    Some((_, stays)) => stays.push(*stay),
                    None => route.push((status.clone(), vec![*stay])),
                }
            }
        }
        let mut report: Vec<ProfileRoute> = routes
            .iter()
            .zip(statuses)
            .enumerate()
            .filter(|(_, ((requests, _), _))| *requests > 0)
            .map(|(at, ((requests, total), statuses))| {
                let family = &stats.families[at];
                let mut statuses: Vec<ProfileStatus> = statuses
                    .into_iter()
                    .map(|(status, stays)| status_profile(status, stays))
                    .collect();
                statuses.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
                let mut wire = ProfileRoute::default();
                wire.direction = to_wire::direction(family.direction);
                wire.name = family.name.to_string();
                wire.requests = *requests;
                wire.total_ms = millis(*total);
                wire.mean_ms = millis(*total) / (*requests).max(1) as f64;
                wire.statuses = statuses;
                wire
            })
            .collect();
        report.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
        (report, sampled)
    }
}

fn status_profile(status: String, mut stays: Vec<Duration>) -> ProfileStatus {
    stays.sort_unstable();
    let total: Duration = stays.iter().sum();
    let count = stays.len();
    let at = |q: f64| {
        let rank = ((count as f64 * q).ceil() as usize).clamp(1, count.max(1));
        stays.get(rank - 1).copied().map_or(0.0, millis)
    };
    let mut wire = ProfileStatus::default();
    wire.status = status;
    wire.count = count as u64;
    wire.total_ms = millis(total);
    wire.mean_ms = millis(total) / count.max(1) as f64;
    wire.p50_ms = at(0.50);
    wire.p95_ms = at(0.95);
    wire.p99_ms = at(0.99);
    wire.max_ms = stays.last().copied().map_or(0.0, millis);
    wire
}
