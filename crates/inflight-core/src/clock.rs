//! The clock behind every timestamp in the table.
//!
//! Timestamps are nanoseconds since an anchor taken the first time inflight is used, read
//! from the CPU's time-stamp counter where it is reliable (through `quanta`). On the test
//! machines `std::time::Instant::now()` costs ~40 ns and the counter ~15 ns; a tracked
//! request reads the clock up to three times, so this is a third of the per-request budget.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// Nanoseconds since the anchor. `0` and `1` are never readings (`0` stands for "never",
/// `1` for "not read yet").
pub(crate) type Nanos = u64;

struct Anchor {
    mono: quanta::Instant,
    wall: SystemTime,
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();

fn anchor() -> &'static Anchor {
    ANCHOR.get_or_init(|| Anchor {
        // Calibrates the counter once (well under a millisecond here).
        mono: quanta::Instant::now(),
        wall: SystemTime::now(),
    })
}

/// Takes the anchor now, so that the first request does not pay for calibration.
pub(crate) fn init() {
    anchor();
}

/// The current time, never `0` or `1`.
#[inline]
pub(crate) fn now() -> Nanos {
    let anchor = anchor();
    let since = quanta::Instant::now().saturating_duration_since(anchor.mono);
    (since.as_nanos() as u64).max(2)
}

/// The wall-clock time of a reading.
pub(crate) fn wall(at: Nanos) -> SystemTime {
    anchor().wall + Duration::from_nanos(at)
}

/// How long ago the anchor was taken.
pub(crate) fn uptime() -> Duration {
    Duration::from_nanos(now())
}

/// `later - earlier`, or zero when the readings are out of order.
#[inline]
pub(crate) fn between(earlier: Nanos, later: Nanos) -> Duration {
    Duration::from_nanos(later.saturating_sub(earlier))
}
