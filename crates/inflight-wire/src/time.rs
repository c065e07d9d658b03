//! Times and durations as the admin API writes them.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use jiff::fmt::temporal::DateTimePrinter;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds as a number, with microsecond precision.
pub fn millis(duration: Duration) -> f64 {
    (duration.as_micros() as f64) / 1000.0
}

/// An instant as the API writes it: RFC 3339 in UTC with milliseconds,
/// `2026-11-22T20:31:04.123Z`.
///
/// Always three fractional digits (truncated, not rounded) and `Z`, so the strings of one
/// answer sort as their times do. Any RFC 3339 time reads, whatever its offset or digits.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use inflight_wire::Timestamp;
///
/// let at = Timestamp::from(UNIX_EPOCH + Duration::from_millis(1_795_379_464_123));
/// assert_eq!(at.to_string(), "2026-11-22T20:31:04.123Z");
/// assert_eq!("2026-11-22T21:31:04.123+01:00".parse::<Timestamp>().unwrap(), at);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(jiff::Timestamp);

static PRINTER: DateTimePrinter = DateTimePrinter::new().precision(Some(3));

impl Timestamp {
    /// The instant as a `jiff::Timestamp`, for arithmetic.
    pub fn as_jiff(self) -> jiff::Timestamp {
        self.0
    }

    /// The instant as a `SystemTime`; `None` where the platform's cannot hold it.
    pub fn to_system_time(self) -> Option<SystemTime> {
        SystemTime::try_from(self.0).ok()
    }
}

impl From<jiff::Timestamp> for Timestamp {
    fn from(time: jiff::Timestamp) -> Timestamp {
        Timestamp(time)
    }
}

/// A `SystemTime` outside what RFC 3339 can write (years -9999 to 9999) is clamped to the
/// nearest end: a clock that far off is a broken clock, and an answer beats an error.
impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        Timestamp(jiff::Timestamp::try_from(time).unwrap_or_else(|_| {
            if time > SystemTime::UNIX_EPOCH {
                jiff::Timestamp::MAX
            } else {
                jiff::Timestamp::MIN
            }
        }))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&PRINTER.timestamp_to_string(&self.0))
    }
}

impl FromStr for Timestamp {
    type Err = jiff::Error;

    fn from_str(text: &str) -> Result<Timestamp, jiff::Error> {
        text.parse().map(Timestamp)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(|error| {
            serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time: {error}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(since_epoch: Duration) -> String {
        Timestamp::from(UNIX_EPOCH + since_epoch).to_string()
    }

    #[test]
    fn writes_milliseconds_and_z() {
        assert_eq!(at(Duration::ZERO), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            at(Duration::from_millis(1_795_379_464_123)),
            "2026-11-22T20:31:04.123Z"
        );
        assert_eq!(
            at(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
        // Truncated, as the milliseconds of a clock are.
        assert_eq!(
            at(Duration::from_nanos(1_795_379_464_999_999_999)),
            "2026-11-22T20:31:04.999Z"
        );
    }

    #[test]
    fn before_the_epoch_and_out_of_range() {
        let before = Timestamp::from(UNIX_EPOCH - Duration::from_millis(1));
        assert_eq!(before.to_string(), "1969-12-31T23:59:59.999Z");
        let far = Timestamp::from(UNIX_EPOCH + Duration::from_secs(400_000_000_000));
        assert_eq!(far.as_jiff(), jiff::Timestamp::MAX);
    }

    #[test]
    fn json_round_trip() {
        let time = Timestamp::from(UNIX_EPOCH + Duration::from_millis(1_795_379_464_123));
        let json = serde_json::to_string(&time).unwrap();
        assert_eq!(json, "\"2026-11-22T20:31:04.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), time);
        assert_eq!(
            time.to_system_time(),
            Some(UNIX_EPOCH + Duration::from_millis(1_795_379_464_123))
        );
    }

    #[test]
    fn reads_other_digits_and_offsets() {
        let whole: Timestamp = "2026-11-22T20:31:04Z".parse().unwrap();
        assert_eq!(whole.to_string(), "2026-11-22T20:31:04.000Z");
        let offset: Timestamp = "2026-11-22T21:31:04.5+01:00".parse().unwrap();
        assert_eq!(offset.to_string(), "2026-11-22T20:31:04.500Z");
    }

    #[test]
    fn rejects_what_is_not_rfc_3339() {
        for bad in ["", "yesterday", "2026-11-22", "2026-13-01T00:00:00Z"] {
            let error = serde_json::from_str::<Timestamp>(&format!("{bad:?}")).unwrap_err();
            assert!(
                error.to_string().contains("is not an RFC 3339 time"),
                "{error}"
            );
        }
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }

    #[test]
    fn millis_keep_microseconds() {
        assert_eq!(millis(Duration::from_micros(1_234_567)), 1234.567);
        assert_eq!(millis(Duration::from_nanos(999)), 0.0);
    }
}
