//! The duration syntax shared by the demo, the admin API and the CLI: `250ms`, `5s`,
//! `1.5s`, `2m`, `1h30m`.

use std::fmt;
use std::time::Duration;

use jiff::SpanRelativeTo;
use jiff::fmt::friendly::SpanParser;

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseDurationError {
    input: String,
    reason: String,
}

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {}; write it like 250ms, 5s, 1.5s, 2m or 1h30m",
            self.input, self.reason
        )
    }
}

impl std::error::Error for ParseDurationError {}

static PARSER: SpanParser = SpanParser::new();

/// Parses `250ms`, `5s`, `1.5s`, `2m`, `1h30m`, `100us` or `0`: jiff's friendly format
/// (which also reads `1h 30m` and `2 hours`), with a bare `0` as zero.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(inflight_wire::parse_duration("1m30s").unwrap(), Duration::from_secs(90));
/// assert_eq!(inflight_wire::parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert!(inflight_wire::parse_duration("soon").is_err());
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, ParseDurationError> {
    let error = |reason: &str| ParseDurationError {
        input: input.to_owned(),
        reason: reason.to_owned(),
    };
    let text = input.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(error("it is empty"));
    }
    if text.starts_with(['-', '+']) {
        return Err(error("it has a sign; a duration here is never negative"));
    }
    // jiff's own message names the grammar's internals; say what to change instead when
    // the mistake is a common one.
    if !text.ends_with(|c: char| c.is_alphabetic()) {
        return Err(error("a number needs a unit (ms, s, m, h)"));
    }
    // Through a `Span`, so `d` reads as 24 hours, as it always has here.
    let span = PARSER.parse_span(text).map_err(|e| error(&e.to_string()))?;
    let signed = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|e| error(&e.to_string()))?;
    Duration::try_from(signed).map_err(|_| error("out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2h03m04s"), Ok(Duration::from_secs(7384)));
        assert_eq!(parse_duration("100us"), Ok(Duration::from_micros(100)));
        assert_eq!(parse_duration("100µs"), Ok(Duration::from_micros(100)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration(" 0 "), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn fractions_are_exact() {
        // Summing f64s gave 0.30000000000000004s here.
        assert_eq!(parse_duration("0.3s"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("0.000000001s"), Ok(Duration::from_nanos(1)));
    }

    #[test]
    fn rejects_with_a_reason() {
        let reason = |bad: &str| parse_duration(bad).unwrap_err().to_string();
        for bad in [
            "", "5", "s", "5x", "-1s", "1..2s", "1e400s", "soon", "1s-", "2 months",
        ] {
            let message = reason(bad);
            assert!(
                message.starts_with(&format!("invalid duration {bad:?}: ")),
                "{message}"
            );
            assert!(message.ends_with("write it like 250ms, 5s, 1.5s, 2m or 1h30m"));
        }
        assert!(reason("").contains("it is empty"));
        assert!(reason("5").contains("needs a unit"));
        assert!(reason("-1s").contains("never negative"));
        assert!(
            reason("2 months").contains("month"),
            "{}",
            reason("2 months")
        );
    }
}
