//! The admin thread's timers: health and gauges, the ended requests' counts for the
//! `metrics` recorder, and the stuck-request watchdog. None of them does anything per
//! request: each reads the table's counts or walks the requests in flight, at its own
//! pace, whatever the request rate.

use std::sync::Arc;
use std::time::Duration;

use crate::health;
use crate::state::{State, lock};

/// Health and gauges.
const HEALTH_EVERY: Duration = Duration::from_millis(250);
/// The ended requests' counts to the `metrics` recorder, and the stuck-request watchdog.
const SECOND: Duration = Duration::from_secs(1);

pub(crate) async fn run(state: Arc<State>) {
    let mut health = tokio::time::interval(HEALTH_EVERY);
    let mut second = tokio::time::interval(SECOND);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = health.tick() => {
                health::read(&state.config, &state.health);
                #[cfg(feature = "metrics")]
                crate::metrics::gauges(&state.config.table);
            }
            _ = second.tick() => {
                #[cfg(feature = "metrics")]
                lock(&state.metrics).export(&state.config.table);
                if let Some(after) = state.config.stuck_after {
                    lock(&state.watchdog).scan(&state.config.table, after);
                }
            }
        }
    }
}
