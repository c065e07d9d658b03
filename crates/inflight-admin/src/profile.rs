//! `GET /profile`: where the time of finished requests went, per route and status (the
//! "profiles" of a process table).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use inflight_core::wire::{ProfileRoute, ProfileStatus, millis, rfc3339};
use inflight_core::{Direction, Finished};

use crate::recent::{MAX_FAMILIES, family_name};

/// Statuses kept per route; later ones are counted under `(other)`.
const MAX_STATUSES: usize = 64;
/// Histograms cover 1 µs to one day at 2 significant digits (a few KiB each).
const HISTOGRAM_MAX_MICROS: u64 = 86_400_000_000;

pub(crate) struct Profile {
    since: SystemTime,
    routes: HashMap<(Direction, String), RouteProfile>,
    /// An empty histogram with the bounds above, cloned for each new status.
    empty: Histogram<u64>,
}

struct RouteProfile {
    requests: u64,
    total: Duration,
    statuses: HashMap<String, StatusProfile>,
}

struct StatusProfile {
    total: Duration,
    micros: Histogram<u64>,
}

impl Profile {
    pub(crate) fn new() -> Profile {
        Profile {
            since: SystemTime::now(),
            routes: HashMap::new(),
            empty: Histogram::new_with_bounds(1, HISTOGRAM_MAX_MICROS, 2)
                .expect("constant histogram bounds are valid"),
        }
    }

    pub(crate) fn since(&self) -> SystemTime {
        self.since
    }

    pub(crate) fn record(&mut self, finished: &Finished) {
        let entry = &finished.entry;
        let mut name = family_name(entry);
        if !self.routes.contains_key(&(entry.direction, name.clone()))
            && self.routes.len() >= MAX_FAMILIES
        {
            name = "(other)".into();
        }
        let route = self
            .routes
            .entry((entry.direction, name))
            .or_insert_with(|| RouteProfile {
                requests: 0,
                total: Duration::ZERO,
                statuses: HashMap::new(),
            });
        route.requests += 1;
        route.total += finished.duration;
        // Each status lasts until the next one, the last until the end.
        let history = &entry.history;
        for (i, change) in history.iter().enumerate() {
            let until = history
                .get(i + 1)
                .map_or(finished.duration, |next| next.offset);
            let stay = until.saturating_sub(change.offset);
            let key = if route.statuses.contains_key(&change.status)
                || route.statuses.len() < MAX_STATUSES
            {
                change.status.clone()
            } else {
                "(other)".to_owned()
            };
            let empty = &self.empty;
            let status = route.statuses.entry(key).or_insert_with(|| StatusProfile {
                total: Duration::ZERO,
                micros: empty.clone(),
            });
            status.total += stay;
            let micros = u64::try_from(stay.as_micros()).unwrap_or(u64::MAX);
            status
                .micros
                .saturating_record(micros.clamp(1, HISTOGRAM_MAX_MICROS));
        }
    }

    pub(crate) fn report(&self) -> Vec<ProfileRoute> {
        let mut routes: Vec<ProfileRoute> = self
            .routes
            .iter()
            .map(|((direction, name), route)| {
                let mut statuses: Vec<ProfileStatus> = route
                    .statuses
                    .iter()
                    .map(|(status, profile)| {
                        let h = &profile.micros;
                        let ms = |micros: u64| micros as f64 / 1000.0;
                        let count = h.len();
                        ProfileStatus {
                            status: status.clone(),
                            count,
                            total_ms: millis(profile.total),
                            mean_ms: if count == 0 {
                                0.0
                            } else {
                                millis(profile.total) / count as f64
                            },
                            p50_ms: ms(h.value_at_quantile(0.50)),
                            p95_ms: ms(h.value_at_quantile(0.95)),
                            p99_ms: ms(h.value_at_quantile(0.99)),
                            max_ms: ms(h.max()),
                        }
                    })
                    .collect();
                statuses.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
                ProfileRoute {
                    direction: direction.as_str().to_owned(),
                    name: name.clone(),
                    requests: route.requests,
                    total_ms: millis(route.total),
                    mean_ms: millis(route.total) / route.requests.max(1) as f64,
                    statuses,
                }
            })
            .collect();
        routes.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
        routes
    }

    pub(crate) fn window_start(&self) -> String {
        rfc3339(self.since)
    }
}
