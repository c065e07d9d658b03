//! Exact counts and duration histograms of ended requests, per series, one stripe per
//! shard. A stripe is written only under its shard's lock, which the request holds anyway
//! to leave the table, so a count is a load and a store (no locked instruction), as a
//! Prometheus histogram's observe is one add into a bucket. Readers sum the stripes.

use std::time::Duration;

use super::names::SeriesKey;
// Not `loom`'s atomics: their reads trip an assertion inside `loom` (its
// `match_load_to_stores`), so under `loom` the stripes are plain atomics, written under
// the shard's lock that `loom` does explore.
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// Duration buckets: `[0]` under 2^10 ns (about 1 µs), `[i]` from 2^(i+9) ns up to
/// twice that, the last one 2^45 ns (about 9.8 hours) and longer.
pub const DURATION_BUCKETS: usize = 37;

/// The bucket of a duration in nanoseconds.
#[inline]
pub(crate) fn bucket_of(nanos: u64) -> usize {
    let high = nanos >> 10;
    if high == 0 {
        return 0;
    }
    ((64 - high.leading_zeros()) as usize).min(DURATION_BUCKETS - 1)
}

/// The lower bound of bucket `bucket`.
pub fn bucket_lower_bound(bucket: usize) -> Duration {
    if bucket == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(1u64 << (bucket.min(DURATION_BUCKETS - 1) + 9))
}

/// The upper bound of bucket `bucket` (`Duration::MAX` for the last one).
pub fn bucket_upper_bound(bucket: usize) -> Duration {
    if bucket + 1 >= DURATION_BUCKETS {
        return Duration::MAX;
    }
    Duration::from_nanos(1u64 << (bucket + 10))
}

/// One series' counts, one stripe per shard.
pub(crate) struct Series {
    key: SeriesKey,
    /// Its number in its table.
    number: u16,
    stripes: Box<[Stripe]>,
}

/// Cache-line aligned so two shards' stripes never share a line.
#[repr(align(128))]
struct Stripe {
    buckets: [AtomicU64; DURATION_BUCKETS],
    nanos: AtomicU64,
}

impl Series {
    pub(crate) fn new(key: SeriesKey, number: u16, shards: usize) -> Series {
        Series {
            key,
            number,
            stripes: (0..shards)
                .map(|_| Stripe {
                    buckets: std::array::from_fn(|_| AtomicU64::new(0)),
                    nanos: AtomicU64::new(0),
                })
                .collect(),
        }
    }

    pub(crate) fn key(&self) -> SeriesKey {
        self.key
    }

    pub(crate) fn number(&self) -> u16 {
        self.number
    }

    /// Counts one request of `nanos`; the caller holds the lock of shard `shard`.
    #[inline]
    pub(crate) fn observe(&self, shard: usize, nanos: u64) {
        let Some(stripe) = self.stripes.get(shard) else {
            return;
        };
        add(&stripe.buckets[bucket_of(nanos)], 1);
        add(&stripe.nanos, nanos);
    }

    /// The sums of every stripe.
    pub(crate) fn read(&self) -> Counts {
        let mut counts = Counts::default();
        for stripe in self.stripes.iter() {
            for (sum, bucket) in counts.buckets.iter_mut().zip(&stripe.buckets) {
                *sum += bucket.load(Relaxed);
            }
            counts.nanos = counts.nanos.wrapping_add(stripe.nanos.load(Relaxed));
        }
        counts.count = counts.buckets.iter().sum();
        counts
    }
}

/// Only the holder of the stripe's shard lock writes, so a load and a store do.
#[inline]
fn add(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(by), Relaxed);
}

/// A series' counts as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) count: u64,
    pub(crate) nanos: u64,
    pub(crate) buckets: [u64; DURATION_BUCKETS],
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            count: 0,
            nanos: 0,
            buckets: [0; DURATION_BUCKETS],
        }
    }
}

impl Counts {
    pub(crate) fn add(&mut self, other: &Counts) {
        self.count += other.count;
        self.nanos = self.nanos.wrapping_add(other.nanos);
        for (bucket, more) in self.buckets.iter_mut().zip(other.buckets) {
            *bucket += more;
        }
    }

    /// The bucket below which a fraction `q` of the requests fall.
    pub(crate) fn quantile_bucket(&self, q: f64) -> usize {
        let target = (self.count as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (bucket, count) in self.buckets.iter().enumerate() {
            seen += count;
            if seen >= target.max(1) {
                return bucket;
            }
        }
        DURATION_BUCKETS - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_durations_in_order() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1023), 0);
        assert_eq!(bucket_of(1024), 1);
        assert_eq!(bucket_of(2047), 1);
        assert_eq!(bucket_of(2048), 2);
        assert_eq!(bucket_of(u64::MAX), DURATION_BUCKETS - 1);
        for nanos in [
            1u64,
            999,
            1_000,
            50_000,
            1_000_000,
            1 << 40,
            1 << 45,
            1 << 50,
        ] {
            let bucket = bucket_of(nanos);
            let d = Duration::from_nanos(nanos);
            assert!(bucket_lower_bound(bucket) <= d, "{nanos}");
            assert!(d < bucket_upper_bound(bucket), "{nanos}");
        }
    }

    #[test]
    fn stripes_add_up() {
        let series = Series::new(
            SeriesKey {
                family: 0,
                method: 0,
                status: 200,
                ending: crate::table::Ending::Completed,
            },
            0,
            4,
        );
        series.observe(0, 500);
        series.observe(3, 5_000);
        series.observe(3, 5_000);
        series.observe(9, 1); // No such shard: ignored.
        let counts = series.read();
        assert_eq!(counts.count, 3);
        assert_eq!(counts.nanos, 10_500);
        assert_eq!(counts.buckets[0], 1);
        assert_eq!(counts.buckets[bucket_of(5_000)], 2);
        assert_eq!(counts.quantile_bucket(0.5), bucket_of(5_000));
    }
}
