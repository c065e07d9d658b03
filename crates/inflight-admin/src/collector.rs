//! The admin thread's background work: drains finished requests into `/recent`,
//! `/profile`, the watchdog and metrics; re-reads health; scans for stuck requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::health;
use crate::state::{State, lock};

/// How often finished requests are drained from the table.
const DRAIN_EVERY: Duration = Duration::from_millis(50);
/// How often while requests end faster than that keeps up with: a drain that found this
/// many is followed by another one soon, so the shards' queues (a few thousand requests
/// each) rarely fill and drop.
const DRAIN_EVERY_BUSY: Duration = Duration::from_millis(5);
const BUSY_DRAIN: usize = 1024;
/// Health and gauges, and the stuck-request watchdog.
const HEALTH_EVERY: Duration = Duration::from_millis(250);
const WATCHDOG_EVERY: Duration = Duration::from_secs(1);

pub(crate) async fn run(state: Arc<State>) {
    let mut health_at = Instant::now();
    let mut watchdog_at = Instant::now();
    loop {
        let drained = state.drain();
        let now = Instant::now();
        if now >= health_at {
            health_at = now + HEALTH_EVERY;
            health::read(&state.config, &state.health);
            #[cfg(feature = "metrics")]
            crate::metrics::gauges(&state.config.table);
        }
        if now >= watchdog_at {
            watchdog_at = now + WATCHDOG_EVERY;
            if let Some(after) = state.config.stuck_after {
                lock(&state.aggregates)
                    .watchdog
                    .scan(&state.config.table, after);
            }
        }
        tokio::time::sleep(if drained >= BUSY_DRAIN {
            DRAIN_EVERY_BUSY
        } else {
            DRAIN_EVERY
        })
        .await;
    }
}
