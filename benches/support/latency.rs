//! Per-request latencies: each request timed on its own with the TSC (quanta, a few ns a
//! read) into a histogram per thread, merged into one shared histogram at the end of a
//! batch.

use std::sync::{Arc, Mutex, OnceLock};

use hdrhistogram::Histogram;
use quanta::Clock;

/// Longest latency recorded exactly; longer ones are recorded as this.
const HIGHEST_NS: u64 = 60_000_000_000;

/// The process's TSC clock, calibrated once.
pub fn clock() -> Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK.get_or_init(Clock::new).clone()
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_NS, 3).expect("valid histogram bounds")
}

/// A histogram of request latencies (ns), shared by the threads of a runner.
#[derive(Clone)]
pub struct Latencies(Arc<Mutex<Histogram<u64>>>);

impl Default for Latencies {
    fn default() -> Latencies {
        Latencies(Arc::new(Mutex::new(histogram())))
    }
}

/// Quantiles of one histogram, in ns.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quantiles {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Latencies {
    /// Runs `request` `n` times, timing each call, and merges the times in.
    pub fn time(&self, n: u64, mut request: impl FnMut()) {
        let clock = clock();
        let mut local = histogram();
        for _ in 0..n {
            let started = clock.raw();
            request();
            let nanos = clock.delta_as_nanos(started, clock.raw());
            local.saturating_record(nanos.max(1));
        }
        self.lock().add(&local).expect("same bounds");
    }

    pub fn reset(&self) {
        self.lock().reset();
    }

    pub fn quantiles(&self) -> Quantiles {
        let histogram = self.lock();
        Quantiles {
            count: histogram.len(),
            p50: histogram.value_at_quantile(0.5),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Histogram<u64>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
