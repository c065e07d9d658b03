//! The admin thread's background work: drains finished requests into `/recent`,
//! `/profile`, the watchdog and metrics; re-reads health; scans for stuck requests.

use std::sync::Arc;
use std::time::Duration;

use crate::health;
use crate::state::{State, lock};

/// How often finished requests are drained from the table.
const DRAIN_EVERY: Duration = Duration::from_millis(50);
/// Health and gauges every 5 drains, the watchdog every 20.
const HEALTH_EVERY: u64 = 5;
const WATCHDOG_EVERY: u64 = 20;

pub(crate) async fn run(state: Arc<State>) {
    let mut ticker = tokio::time::interval(DRAIN_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for tick in 0u64.. {
        ticker.tick().await;
        state.drain();
        if tick % HEALTH_EVERY == 0 {
            health::read(&state.config, &state.health);
            #[cfg(feature = "metrics")]
            crate::metrics::gauges(&state.config.table);
        }
        if tick % WATCHDOG_EVERY == 0
            && let Some(after) = state.config.stuck_after
        {
            lock(&state.aggregates)
                .watchdog
                .scan(&state.config.table, after);
        }
    }
}
