//! Durations as people read them in the dump and the CLI.

use std::fmt;
use std::time::Duration;

/// A request's age as the table's dump writes it: `0.35s`, `47.26s`, `1m34.00s`,
/// `2h03m04.00s`.
///
/// ```
/// use std::time::Duration;
/// use inflight_wire::Elapsed;
///
/// assert_eq!(Elapsed(Duration::from_millis(94_000)).to_string(), "1m34.00s");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(pub Duration);

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Rounded to hundredths once, so 59.999s prints as 1m00.00s, not 60.00s.
        let nanos = u64::try_from(self.0.as_nanos()).unwrap_or(u64::MAX);
        let hundredths = nanos.saturating_add(5_000_000) / 10_000_000;
        let (seconds, hundredths) = (hundredths / 100, hundredths % 100);
        let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        if hours > 0 {
            write!(f, "{hours}h{minutes:02}m{seconds:02}.{hundredths:02}s")
        } else if minutes > 0 {
            write!(f, "{minutes}m{seconds:02}.{hundredths:02}s")
        } else {
            write!(f, "{seconds}.{hundredths:02}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_the_dump() {
        let elapsed = |ms| Elapsed(Duration::from_millis(ms)).to_string();
        assert_eq!(elapsed(350), "0.35s");
        assert_eq!(elapsed(47_260), "47.26s");
        assert_eq!(elapsed(94_000), "1m34.00s");
        assert_eq!(elapsed(7_384_000), "2h03m04.00s");
        assert_eq!(elapsed(59_999), "1m00.00s");
        assert_eq!(elapsed(0), "0.00s");
        assert_eq!(Elapsed(Duration::MAX).to_string(), "5124095h34m33.70s");
    }
}
