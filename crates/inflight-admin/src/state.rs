//! What the handlers, the collector and the server share.

use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use inflight_core::{FinishedRequest, Subscription};
use inflight_wire::{Origin, Timestamp};

use crate::AdminServer;
use crate::families::Families;
use crate::health::Health;
use crate::profile::Profile;
use crate::recent::Recent;
use crate::trace_ring::TraceRing;
use crate::watchdog::Watchdog;

pub(crate) struct State {
    pub(crate) config: AdminServer,
    pub(crate) started: Instant,
    pub(crate) health: Health,
    /// The table's ended requests, while this server runs.
    pub(crate) ended: Mutex<Subscription>,
    pub(crate) aggregates: Mutex<Aggregates>,
    pub(crate) task_dumps: crate::tasks::TaskDumps,
}

/// Everything built from finished requests.
pub(crate) struct Aggregates {
    pub(crate) families: Families,
    pub(crate) recent: Recent,
    pub(crate) profile: Profile,
    pub(crate) watchdog: Watchdog,
    /// Recently finished requests by trace, for `GET /traces/{id}`.
    pub(crate) traces: TraceRing,
    #[cfg(feature = "metrics")]
    pub(crate) metrics: crate::metrics::Durations,
}

impl State {
    pub(crate) fn new(config: AdminServer) -> State {
        State {
            ended: Mutex::new(config.table.subscribe()),
            aggregates: Mutex::new(Aggregates {
                families: Families::default(),
                recent: Recent::default(),
                profile: Profile::new(),
                watchdog: Watchdog::default(),
                traces: TraceRing::new(config.finished_capacity, config.finished_max_age),
                #[cfg(feature = "metrics")]
                metrics: crate::metrics::Durations::default(),
            }),
            task_dumps: crate::tasks::TaskDumps::new(
                config.tokio_runtime.clone(),
                config.task_dump_timeout,
            ),
            health: Health::default(),
            started: Instant::now(),
            config,
        }
    }

    /// Who answers: in every reply, so clients compute ages without clock skew.
    pub(crate) fn origin(&self) -> Origin {
        let mut origin = Origin::default();
        origin.server_time = Timestamp::from(SystemTime::now());
        origin.pid = std::process::id();
        origin.host = self.config.host.clone();
        origin.service = self.config.build.service.clone();
        origin
    }

    /// Takes in what ended since the last drain; returns how many requests that was.
    pub(crate) fn drain(&self) -> usize {
        let mut ended = lock(&self.ended);
        let count = ended.drain(|requests| lock(&self.aggregates).record(requests));
        if count == 0 {
            // Recording drops by age too; with nothing to record, age still counts.
            lock(&self.aggregates).traces.expire(Instant::now());
        }
        count
    }
}

impl Aggregates {
    fn record(&mut self, requests: &[FinishedRequest<'_>]) {
        let families: Vec<usize> = requests.iter().map(|r| self.families.of(r)).collect();
        self.profile.record(requests, &families);
        self.recent.record(requests, &families);
        for request in requests {
            self.watchdog.ended(request);
        }
        self.traces.record(requests, &families);
        #[cfg(feature = "metrics")]
        self.metrics.record(requests, &families, &self.families);
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
