//! `GET /healthz`: busy or free, by a configurable rule, with the transitions reported to
//! callbacks (like a health check that reads a busy/free state without going through the
//! busy pool).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use inflight_core::Direction;
use inflight_wire::{HealthReport, HealthState, Origin, millis};

use crate::AdminServer;

#[derive(Default)]
pub(crate) struct Health {
    busy: AtomicBool,
}

/// The state now, and why.
pub(crate) struct Reading {
    pub(crate) busy: bool,
    pub(crate) reasons: Vec<String>,
    pub(crate) inbound: usize,
    pub(crate) outbound: usize,
    pub(crate) oldest_inbound: Option<Duration>,
}

/// Reads the state. Counts are kept by the table; the oldest request's age takes a walk
/// of the table, so it is read only when a rule asks for it.
pub(crate) fn read(config: &AdminServer, health: &Health) -> Reading {
    let inbound = config.table.count(Direction::Inbound);
    let outbound = config.table.count(Direction::Outbound);
    let oldest_inbound = config
        .busy_oldest_above
        .and_then(|_| config.table.oldest(Direction::Inbound));
    let mut reasons = Vec::new();
    if let Some(limit) = config.busy_inbound_above
        && inbound > limit
    {
        reasons.push(format!(
            "{inbound} inbound requests in flight, more than {limit}"
        ));
    }
    if let (Some(limit), Some(oldest)) = (config.busy_oldest_above, oldest_inbound)
        && oldest > limit
    {
        reasons.push(format!(
            "the oldest inbound request is {}, older than {}",
            inflight_core::Elapsed(oldest),
            inflight_core::Elapsed(limit)
        ));
    }
    let reading = Reading {
        busy: !reasons.is_empty(),
        reasons,
        inbound,
        outbound,
        oldest_inbound,
    };
    observe(config, health, reading.busy);
    reading
}

/// Fires the callbacks when the state changed since the last reading.
fn observe(config: &AdminServer, health: &Health, busy: bool) {
    if health.busy.swap(busy, Ordering::AcqRel) != busy {
        for callback in &config.on_busy_change {
            callback(busy);
        }
    }
}

pub(crate) fn report(
    config: &AdminServer,
    health: &Health,
    uptime: Duration,
    origin: Origin,
) -> (bool, HealthReport) {
    let reading = read(config, health);
    let build = &config.build;
    let mut report = HealthReport::default();
    report.origin = origin;
    report.state = if reading.busy {
        HealthState::Busy
    } else {
        HealthState::Free
    };
    report.reasons = reading.reasons;
    report.version = build.version.clone();
    report.git_commit = build.git_commit.clone();
    report.rustc = env!("INFLIGHT_ADMIN_RUSTC").to_owned();
    report.uptime_seconds = uptime.as_secs_f64();
    report.inbound = reading.inbound as u64;
    report.outbound = reading.outbound as u64;
    report.oldest_inbound_ms = reading.oldest_inbound.map(millis);
    (reading.busy, report)
}
