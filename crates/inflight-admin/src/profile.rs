//! `GET /profile`: where the time of finished requests went, per route and status (the
//! "profiles" of a process table).

use foldhash::HashMap;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use inflight_core::FinishedRequest;
use inflight_wire::{ProfileRoute, ProfileStatus, Timestamp, millis};

use crate::to_wire;

use crate::families::Families;

/// Statuses kept per route, and across all routes; later ones are counted under
/// `(other)` (one per route).
pub(crate) const MAX_STATUSES_PER_ROUTE: usize = 64;
pub(crate) const MAX_STATUSES: usize = 1024;
/// Histograms cover 1 µs to one day at 2 significant digits. They start small and grow
/// to the largest value they record: at most about 15 KiB each (u32 counts), so all of
/// `/profile` stays under (1024 + 256) × 15 KiB ≈ 19 MiB whatever the handlers do.
const HISTOGRAM_MAX_MICROS: u64 = 86_400_000_000;
const OTHER: &str = "(other)";

/// Where the time of finished requests went; routes indexed like [`Families`].
pub(crate) struct Profile {
    since: SystemTime,
    routes: Vec<RouteProfile>,
    statuses: usize,
    scratch: String,
}

#[derive(Default)]
struct RouteProfile {
    requests: u64,
    total: Duration,
    statuses: Statuses,
}

/// A route's statuses in the order first seen. Most routes have a handful, found by
/// comparing a few short strings; the index is for routes with many.
#[derive(Default)]
struct Statuses {
    list: Vec<(String, StatusProfile)>,
    index: HashMap<String, usize>,
}

/// Statuses looked up by scanning before the index is asked.
const SCAN: usize = 8;

impl Statuses {
    fn len(&self) -> usize {
        self.list.len()
    }

    fn position(&self, status: &str) -> Option<usize> {
        match self.list.iter().take(SCAN).position(|(s, _)| s == status) {
            Some(at) => Some(at),
            None if self.list.len() > SCAN => self.index.get(status).copied(),
            None => None,
        }
    }

    fn get_mut(&mut self, status: &str) -> Option<&mut StatusProfile> {
        let at = self.position(status)?;
        self.list.get_mut(at).map(|(_, profile)| profile)
    }

    fn get_or_insert(&mut self, status: &str) -> &mut StatusProfile {
        let at = match self.position(status) {
            Some(at) => at,
            None => {
                self.index.insert(status.to_owned(), self.list.len());
                self.list.push((status.to_owned(), StatusProfile::new()));
                self.list.len() - 1
            }
        };
        &mut self.list[at].1
    }

    fn iter(&self) -> impl Iterator<Item = (&String, &StatusProfile)> {
        self.list.iter().map(|(status, profile)| (status, profile))
    }
}

struct StatusProfile {
    total: Duration,
    micros: Histogram<u32>,
}

impl StatusProfile {
    fn new() -> StatusProfile {
        StatusProfile {
            total: Duration::ZERO,
            // Auto-resizing: sized to what it records.
            micros: Histogram::new(2).expect("2 significant digits are valid"),
        }
    }

    fn record(&mut self, stay: Duration) {
        self.total += stay;
        let micros = u64::try_from(stay.as_micros()).unwrap_or(u64::MAX);
        let _ = self.micros.record(micros.clamp(1, HISTOGRAM_MAX_MICROS));
    }
}

impl Profile {
    pub(crate) fn new() -> Profile {
        Profile {
            since: SystemTime::now(),
            routes: Vec::new(),
            statuses: 0,
            scratch: String::new(),
        }
    }

    pub(crate) fn since(&self) -> SystemTime {
        self.since
    }

    /// Records a drained batch (`families[i]` is the family of `requests[i]`), reading
    /// each request's status history in place.
    pub(crate) fn record(&mut self, requests: &[FinishedRequest<'_>], families: &[usize]) {
        let mut scratch = std::mem::take(&mut self.scratch);
        for (request, family) in requests.iter().zip(families) {
            if self.routes.len() <= *family {
                self.routes.resize_with(family + 1, RouteProfile::default);
            }
            let route = &mut self.routes[*family];
            let duration = request.duration();
            route.requests += 1;
            route.total += duration;
            let statuses = &mut self.statuses;
            request.for_each_status(&mut scratch, |status, stay| {
                if let Some(profile) = route.statuses.get_mut(status) {
                    profile.record(stay);
                    return;
                }
                let key =
                    if route.statuses.len() < MAX_STATUSES_PER_ROUTE && *statuses < MAX_STATUSES {
                        *statuses += 1;
                        status
                    } else {
                        OTHER
                    };
                route.statuses.get_or_insert(key).record(stay);
            });
        }
        self.scratch = scratch;
    }

    pub(crate) fn report(&self, names: &Families) -> Vec<ProfileRoute> {
        let mut routes: Vec<ProfileRoute> = self
            .routes
            .iter()
            .enumerate()
            .filter(|(_, route)| route.requests > 0)
            .filter_map(|(index, route)| Some((names.get(index)?, route)))
            .map(|((direction, name), route)| {
                let mut statuses: Vec<ProfileStatus> = route
                    .statuses
                    .iter()
                    .map(|(status, profile)| {
                        let h = &profile.micros;
                        let ms = |micros: u64| micros as f64 / 1000.0;
                        let count = h.len();
                        let mut wire = ProfileStatus::default();
                        wire.status = status.clone();
                        wire.count = count;
                        wire.total_ms = millis(profile.total);
                        wire.mean_ms = if count == 0 {
                            0.0
                        } else {
                            millis(profile.total) / count as f64
                        };
                        wire.p50_ms = ms(h.value_at_quantile(0.50));
                        wire.p95_ms = ms(h.value_at_quantile(0.95));
                        wire.p99_ms = ms(h.value_at_quantile(0.99));
                        wire.max_ms = ms(h.max());
                        wire
                    })
                    .collect();
                statuses.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
                let mut wire = ProfileRoute::default();
                wire.direction = to_wire::direction(*direction);
                wire.name = name.clone();
                wire.requests = route.requests;
                wire.total_ms = millis(route.total);
                wire.mean_ms = millis(route.total) / route.requests.max(1) as f64;
                wire.statuses = statuses;
                wire
            })
            .collect();
        routes.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
        routes
    }

    pub(crate) fn window_start(&self) -> Timestamp {
        Timestamp::from(self.since)
    }
}
