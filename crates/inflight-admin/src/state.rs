//! What the handlers, the timers and the server share.

use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use inflight_wire::{Origin, Timestamp};

use crate::AdminServer;
use crate::health::Health;
use crate::profile::Window;
use crate::watchdog::Watchdog;

pub(crate) struct State {
    pub(crate) config: AdminServer,
    pub(crate) started: Instant,
    pub(crate) health: Health,
    /// The `/profile` window: when it began, and the counts it began from.
    pub(crate) profile: Mutex<Window>,
    pub(crate) watchdog: Mutex<Watchdog>,
    #[cfg(feature = "metrics")]
    pub(crate) metrics: Mutex<crate::metrics::Exported>,
    pub(crate) task_dumps: crate::tasks::TaskDumps,
}

impl State {
    pub(crate) fn new(config: AdminServer) -> State {
        State {
            profile: Mutex::new(Window::new(&config.table.ended_stats())),
            watchdog: Mutex::new(Watchdog::default()),
            #[cfg(feature = "metrics")]
            metrics: Mutex::new(crate::metrics::Exported::default()),
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
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
