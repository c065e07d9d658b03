//! Which requests that completed are kept: those slower than their family's threshold,
//! and a sample of the rest chosen from the trace id alone.
//!
//! The sample follows OpenTelemetry's consistent probability sampling and W3C Trace
//! Context level 2: the last 7 bytes of a trace id are random, and a request is kept when
//! they, read as a number, are at least a threshold. Every service that sees a trace
//! decides the same way at the same rate, and a trace kept at one rate is kept at every
//! higher one, so the services of a fleet keep the same traces with no coordination.
//!
//! Below the target rate (default 2,000 a second) every request is kept. Every tenth of
//! a second the request that ends first after it sets the threshold from how many ended
//! meanwhile, and each family's slowness threshold from its histogram.

use std::time::Duration;

use crate::clock::Nanos;
use crate::sync::AtomicU64;
use crate::sync::Ordering::{AcqRel, Relaxed};
use crate::trace::TraceId;

/// 2^56: the threshold that keeps nothing.
pub(crate) const NEVER: u64 = 1 << 56;
/// The window over which the rate is measured: short, so that a burst is sampled within
/// a tenth of a second of its start.
pub(crate) const WINDOW: Nanos = 100_000_000;

/// The random part of a trace id (its last 7 bytes).
#[inline]
pub(crate) fn randomness(trace: TraceId) -> u64 {
    let bytes = trace.to_bytes();
    let mut value = 0u64;
    for byte in &bytes[9..] {
        value = value << 8 | u64::from(*byte);
    }
    value
}

/// The threshold that keeps a fraction `probability` of traces.
pub(crate) fn threshold_of(probability: f64) -> u64 {
    if probability.is_nan() || probability >= 1.0 {
        return 0;
    }
    if probability <= 0.0 {
        return NEVER;
    }
    let kept = (probability * NEVER as f64) as u64;
    NEVER - kept.min(NEVER)
}

/// How the sample is chosen.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rate {
    /// Keep everything up to this many a second, then sample down to it.
    Adaptive(u64),
    /// Always this fraction.
    Fixed(f64),
}

pub(crate) struct Sampler {
    rate: Rate,
    /// Kept: randomness at least this.
    threshold: AtomicU64,
    /// When the current window ends; the request that moves it sets the threshold.
    window_end: AtomicU64,
    /// Requests ended when the current window began.
    ended_before: AtomicU64,
}

impl Sampler {
    pub(crate) fn new(rate: Rate) -> Sampler {
        let threshold = match rate {
            Rate::Adaptive(_) => 0,
            Rate::Fixed(probability) => threshold_of(probability),
        };
        Sampler {
            rate,
            threshold: AtomicU64::new(threshold),
            window_end: AtomicU64::new(0),
            ended_before: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(crate) fn keeps(&self, trace: TraceId) -> bool {
        randomness(trace) >= self.threshold.load(Relaxed)
    }

    /// Whether the window is over at `now`: true for exactly one caller per window, which
    /// then calls [`next_window`](Sampler::next_window).
    #[inline]
    pub(crate) fn window_over(&self, now: Nanos) -> bool {
        let end = self.window_end.load(Relaxed);
        now >= end
            && self
                .window_end
                .compare_exchange(end, now + WINDOW, AcqRel, Relaxed)
                .is_ok()
    }

    /// Starts the next window, `ended` requests having ended in all so far, the last
    /// window having lasted `elapsed`.
    pub(crate) fn next_window(&self, ended: u64, elapsed: Duration) {
        let before = self.ended_before.swap(ended, Relaxed);
        let Rate::Adaptive(target) = self.rate else {
            return;
        };
        let seconds = elapsed.as_secs_f64().max(0.001);
        let rate = ended.saturating_sub(before) as f64 / seconds;
        let probability = if rate <= target as f64 {
            1.0
        } else {
            target as f64 / rate
        };
        self.threshold.store(threshold_of(probability), Relaxed);
    }

    /// The fraction of traces kept now.
    pub(crate) fn probability(&self) -> f64 {
        let threshold = self.threshold.load(Relaxed).min(NEVER);
        (NEVER - threshold) as f64 / NEVER as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(last: [u8; 7]) -> TraceId {
        let mut bytes = [0xab; 16];
        bytes[9..].copy_from_slice(&last);
        TraceId::from_bytes(bytes).unwrap()
    }

    #[test]
    fn the_decision_is_the_trace_ids_last_seven_bytes_against_a_threshold() {
        assert_eq!(randomness(trace([0; 7])), 0);
        assert_eq!(randomness(trace([0xff; 7])), NEVER - 1);
        assert_eq!(threshold_of(1.0), 0);
        assert_eq!(threshold_of(0.0), NEVER);
        assert_eq!(threshold_of(0.5), NEVER / 2);
        let half = Sampler::new(Rate::Fixed(0.5));
        assert!(half.keeps(trace([0x80, 0, 0, 0, 0, 0, 0])));
        assert!(!half.keeps(trace([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])));
        // A trace kept at one rate is kept at every higher one.
        let quarter = Sampler::new(Rate::Fixed(0.25));
        for n in 0..=255u8 {
            let t = trace([n, 1, 2, 3, 4, 5, 6]);
            if quarter.keeps(t) {
                assert!(half.keeps(t));
            }
        }
    }

    #[test]
    fn an_adaptive_sampler_keeps_all_below_its_rate_and_samples_above() {
        let sampler = Sampler::new(Rate::Adaptive(1000));
        assert_eq!(sampler.probability(), 1.0);
        assert!(sampler.window_over(5));
        assert!(!sampler.window_over(6), "one caller per window");
        sampler.next_window(500, Duration::from_secs(1));
        assert_eq!(sampler.probability(), 1.0);
        sampler.next_window(500 + 100_000, Duration::from_secs(1));
        assert!((sampler.probability() - 0.01).abs() < 1e-6);
        sampler.next_window(500 + 100_000 + 10, Duration::from_secs(1));
        assert_eq!(sampler.probability(), 1.0);
    }
}
